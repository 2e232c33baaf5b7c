package cgroup

import (
	"errors"
	"fmt"
)

var (
	// ErrNotV2 means the hierarchy is not cgroup v2, or memory is
	// controlled by a cgroup v1 hierarchy.
	ErrNotV2 = errors.New("not a cgroup v2 hierarchy with the memory controller")
	// ErrControllerNotEnabled means a controller is not enabled for a group
	// by its parent's cgroup.subtree_control.
	ErrControllerNotEnabled = errors.New("controller not enabled")
	// ErrInternalProcess means a write failed with EBUSY because of
	// cgroup v2's "no internal processes" rule.
	ErrInternalProcess = errors.New("no internal processes rule")
)

// FileError is an error on one cgroup file or directory.
type FileError struct {
	Op   string // "read", "write", "mkdir", "rmdir", "open", ...
	Path string // absolute path of the file or directory
	Err  error  // the underlying error, usually a syscall.Errno
	// Kind is one of this package's sentinel errors, or nil.
	Kind error
	// Hint explains the failure and how to fix it, or is empty.
	Hint string
}

func (e *FileError) Error() string {
	msg := fmt.Sprintf("%s %s: %v", e.Op, e.Path, e.Err)
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

// Unwrap returns the underlying error and, if set, the sentinel Kind, so
// errors.Is matches both.
func (e *FileError) Unwrap() []error {
	if e.Kind == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Kind}
}

// V1Error reports a host whose memory controller is not on cgroup v2.
type V1Error struct {
	Root string // the path that was expected to be a cgroup v2 mount
	// MemoryV1 is where a cgroup v1 hierarchy with the memory controller
	// is mounted, or empty if none was found.
	MemoryV1 string
	// Unified is where a cgroup v2 hierarchy is mounted, or empty.
	Unified string
}

func (e *V1Error) Error() string {
	msg := fmt.Sprintf("%s is not a cgroup v2 hierarchy with the memory controller", e.Root)
	switch {
	case e.MemoryV1 != "" && e.Unified != "":
		msg += fmt.Sprintf(": this host is hybrid, memory is on cgroup v1 at %s and the cgroup v2 tree at %s has no memory controller", e.MemoryV1, e.Unified)
	case e.MemoryV1 != "":
		msg += fmt.Sprintf(": memory is on cgroup v1 at %s", e.MemoryV1)
	}
	return msg + "; boot with systemd.unified_cgroup_hierarchy=1, or run memqos in a guest with `memqos vm run`"
}

// Is reports ErrNotV2.
func (e *V1Error) Is(target error) bool { return target == ErrNotV2 }
