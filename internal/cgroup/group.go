package cgroup

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Group is one cgroup, identified by its path below the hierarchy's root.
type Group struct {
	fs  *FS
	rel string // always starts with "/"
}

// Path returns the group's absolute directory path.
func (g *Group) Path() string { return filepath.Join(g.fs.Root, g.rel) }

// Name returns the group's path relative to the root, starting with "/".
func (g *Group) Name() string { return g.rel }

// String returns the group's absolute path.
func (g *Group) String() string { return g.Path() }

// Child returns the group name below g. It does not create it.
func (g *Group) Child(name string) *Group { return g.fs.Group(filepath.Join(g.rel, name)) }

// Parent returns g's parent, or g itself for the root group.
func (g *Group) Parent() *Group { return g.fs.Group(filepath.Dir(g.rel)) }

// IsRoot reports whether g is the hierarchy's root group.
func (g *Group) IsRoot() bool { return g.rel == "/" }

// Exists reports whether the group's directory exists.
func (g *Group) Exists() bool {
	st, err := os.Stat(g.Path())
	return err == nil && st.IsDir()
}

// Children returns the direct child groups of g.
func (g *Group) Children() ([]*Group, error) {
	entries, err := os.ReadDir(g.Path())
	if err != nil {
		return nil, classify("readdir", g.Path(), err)
	}
	var out []*Group
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, g.Child(e.Name()))
		}
	}
	return out, nil
}

// ID returns the cgroup id: the inode number of its directory, which is the
// id BPF programs see (bpf_get_current_cgroup_id, tracepoint fields).
func (g *Group) ID() (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(g.Path(), &st); err != nil {
		return 0, classify("stat", g.Path(), err)
	}
	return st.Ino, nil
}

// OpenDir opens the group's directory, as BPF attach calls and clone3's
// CLONE_INTO_CGROUP want. The caller closes it.
func (g *Group) OpenDir() (*os.File, error) {
	f, err := os.OpenFile(g.Path(), os.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, classify("open", g.Path(), err)
	}
	return f, nil
}

// Controllers returns the controllers available in g (cgroup.controllers).
func (g *Group) Controllers() ([]string, error) {
	s, err := g.ReadString("cgroup.controllers")
	return strings.Fields(s), err
}

// SubtreeControl returns the controllers g enables for its children.
func (g *Group) SubtreeControl() ([]string, error) {
	s, err := g.ReadString("cgroup.subtree_control")
	return strings.Fields(s), err
}

// EnableControllers enables controllers (e.g. "memory", "cpu") for g's
// children by writing cgroup.subtree_control. It fails with
// ErrControllerNotEnabled if g itself lacks one of them, and with
// ErrInternalProcess if g has processes of its own.
func (g *Group) EnableControllers(controllers ...string) error {
	for _, c := range controllers {
		if err := g.write("cgroup.subtree_control", "+"+c); err != nil {
			return err
		}
	}
	return nil
}

// ReadString returns the trimmed content of g's file name.
func (g *Group) ReadString(name string) (string, error) {
	p := filepath.Join(g.Path(), name)
	b, err := os.ReadFile(p)
	if err != nil {
		return "", g.fileError("read", name, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// ReadUint returns the content of g's single-value file name.
func (g *Group) ReadUint(name string) (uint64, error) {
	s, err := g.ReadString(name)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, &FileError{Op: "parse", Path: filepath.Join(g.Path(), name), Err: err}
	}
	return v, nil
}

// write writes value to g's file name in a single write(2), as cgroupfs
// requires. It uses the system calls directly, not an *os.File: cgroup
// files can be polled, so Go's runtime would wait for the file to become
// writable on EAGAIN, which memory.reclaim returns when it reclaimed less
// than asked, and which no poll ever ends (a write of memory.reclaim
// through os.File hung forever in a guest).
func (g *Group) write(name, value string) error {
	p := filepath.Join(g.Path(), name)
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC, 0)
	if err != nil {
		return g.fileError("write", name, err)
	}
	var werr error
	for {
		if _, werr = unix.Write(fd, []byte(value)); werr != unix.EINTR {
			break
		}
	}
	cerr := unix.Close(fd)
	if werr == nil {
		werr = cerr
	}
	if werr != nil {
		return g.fileError("write", name, werr)
	}
	return nil
}

// fileError wraps err from op on g's file name with what the errno means
// for that file.
func (g *Group) fileError(op, name string, err error) error {
	fe := classify(op, filepath.Join(g.Path(), name), err)
	switch {
	case errors.Is(fe.Err, syscall.EBUSY) && (name == "cgroup.subtree_control" || name == "cgroup.procs"):
		fe.Kind = ErrInternalProcess
		fe.Hint = "cgroup v2 forbids a group to both hold processes and enable controllers for its children; move the processes into a leaf group first"
	case errors.Is(fe.Err, syscall.ENOENT) && name == "cgroup.subtree_control" && op == "write":
		fe.Kind = ErrControllerNotEnabled
		fe.Hint = "the controller is not in " + g.Name() + "'s cgroup.controllers; enable it in the parent's cgroup.subtree_control first"
	case errors.Is(fe.Err, syscall.ENOENT) && !g.Exists():
		fe.Hint = "group " + g.Name() + " does not exist"
	case errors.Is(fe.Err, syscall.ENOENT):
		if ctrl, _, ok := strings.Cut(name, "."); ok && ctrl != "cgroup" {
			fe.Kind = ErrControllerNotEnabled
			fe.Hint = "the " + ctrl + " controller is not enabled for " + g.Name() + "; add +" + ctrl + " to " + g.Parent().Name() + "'s cgroup.subtree_control"
		}
	}
	return fe
}
