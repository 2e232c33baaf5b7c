package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// DefaultRoot is where cgroup v2 is mounted on a unified host.
const DefaultRoot = "/sys/fs/cgroup"

// FS is a cgroup v2 hierarchy.
type FS struct {
	// Root is the hierarchy's mount point, or a temporary tree in tests.
	Root string
}

// Open returns the cgroup v2 hierarchy mounted at root ("" means
// DefaultRoot), after checking that it is cgroup v2 and has the memory
// controller. On a v1 or hybrid host it returns a *V1Error, which matches
// ErrNotV2.
func Open(root string) (*FS, error) {
	if root == "" {
		root = DefaultRoot
	}
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil {
		return nil, &FileError{Op: "statfs", Path: root, Err: err}
	}
	fsys := &FS{Root: root}
	if st.Type != unix.CGROUP2_SUPER_MAGIC {
		return nil, v1Error(root, "/proc/self/mountinfo")
	}
	ctrls, err := fsys.Group("").Controllers()
	if err != nil {
		return nil, err
	}
	if !contains(ctrls, "memory") {
		return nil, v1Error(root, "/proc/self/mountinfo")
	}
	return fsys, nil
}

// v1Error describes where memory and the unified hierarchy are mounted,
// read from mountinfo (best effort: a failure leaves the fields empty).
func v1Error(root, mountinfo string) *V1Error {
	e := &V1Error{Root: root}
	f, err := os.Open(mountinfo)
	if err != nil {
		return e
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		mnt, fstype, opts, ok := parseMountinfoLine(s.Text())
		if !ok {
			continue
		}
		switch {
		case fstype == "cgroup2" && e.Unified == "":
			e.Unified = mnt
		case fstype == "cgroup" && contains(strings.Split(opts, ","), "memory"):
			e.MemoryV1 = mnt
		}
	}
	return e
}

// parseMountinfoLine returns the mount point, filesystem type and super
// options of one /proc/PID/mountinfo line.
func parseMountinfoLine(line string) (mnt, fstype, superOpts string, ok bool) {
	pre, post, found := strings.Cut(line, " - ")
	if !found {
		return "", "", "", false
	}
	f, g := strings.Fields(pre), strings.Fields(post)
	if len(f) < 5 || len(g) < 3 {
		return "", "", "", false
	}
	return f[4], g[0], g[2], true
}

// Group returns the group at path: the group's full path below the root
// ("/sys/fs/cgroup/a/b"), or its path relative to the root ("a/b" or
// "/a/b"; "" is the root group). It does not check that the group exists.
func (fsys *FS) Group(path string) *Group {
	root := filepath.Clean(fsys.Root)
	if rel, ok := strings.CutPrefix(filepath.Clean(path), root); ok && (rel == "" || rel[0] == '/') && filepath.IsAbs(path) && root != "/" {
		path = rel
	}
	return &Group{fs: fsys, rel: filepath.Clean("/" + path)}
}

// Create makes the group at path, relative to the root, and returns it.
// Missing parents are created too. It fails with fs.ErrExist if the group
// already exists.
func (fsys *FS) Create(path string) (*Group, error) {
	g := fsys.Group(path)
	if err := os.MkdirAll(filepath.Dir(g.Path()), 0o755); err != nil {
		return nil, classify("mkdir", filepath.Dir(g.Path()), err)
	}
	if err := os.Mkdir(g.Path(), 0o755); err != nil {
		return nil, classify("mkdir", g.Path(), err)
	}
	return g, nil
}

// CreateEnabled makes the group at path (see Group) and its missing
// parents, and enables the memory controller, and every controller a
// parent has itself, for the children of each group on the way down from
// the root (the root enables memory only), so that the new group has
// memory control however deep it lies. It fails with an error naming the
// group whose cgroup.subtree_control could not be written, for example
// with ErrInternalProcess when that group holds processes. An existing
// group is not an error: its parents are still enabled.
func (fsys *FS) CreateEnabled(path string) (*Group, error) {
	target := fsys.Group(path)
	g := fsys.Group("")
	for _, name := range strings.Split(strings.Trim(target.rel, "/"), "/") {
		if name == "" {
			break
		}
		if err := g.enableForChildren(); err != nil {
			return nil, err
		}
		g = g.Child(name)
		if err := os.Mkdir(g.Path(), 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, classify("mkdir", g.Path(), err)
		}
	}
	return g, nil
}

// enableForChildren enables memory, and unless g is the root every
// controller g has, in g's cgroup.subtree_control, skipping those already
// enabled.
func (g *Group) enableForChildren() error {
	want := []string{"memory"}
	if !g.IsRoot() {
		have, err := g.Controllers()
		if err != nil {
			return err
		}
		want = append(want, have...)
	}
	enabled, err := g.SubtreeControl()
	if err != nil {
		return err
	}
	for _, c := range want {
		if contains(enabled, c) {
			continue
		}
		if err := g.EnableControllers(c); err != nil {
			return fmt.Errorf("enable %s for the children of %s: %w", c, g.Name(), err)
		}
		enabled = append(enabled, c)
	}
	return nil
}

// GroupOf returns the group of process pid, read from /proc/PID/cgroup.
func (fsys *FS) GroupOf(pid int) (*Group, error) {
	p := fmt.Sprintf("/proc/%d/cgroup", pid)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			return fsys.Group(rest), nil
		}
	}
	return nil, fmt.Errorf("%s has no cgroup v2 entry: %w", p, ErrNotV2)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// classify wraps err from operation op on path, recognising permission
// problems. Callers with more context add a Kind and Hint.
func classify(op, path string, err error) *FileError {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	fe := &FileError{Op: op, Path: path, Err: err}
	if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
		fe.Hint = "needs root, or write access to a delegated cgroup subtree"
	}
	return fe
}
