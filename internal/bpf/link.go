package bpf

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"github.com/memqos/memqos/internal/kernel"
	"golang.org/x/sys/unix"
)

// This file is memqos's one piece of raw BPF syscall plumbing: cilium/ebpf's
// link.AttachStructOps can neither target a cgroup nor pass flags, which
// attaching memcg_bpf_ops to a cgroup needs.

// Attach flags for struct_ops links to cgroups.
const (
	// FlagAllowOverride lets descendants replace the ops they inherit.
	FlagAllowOverride uint32 = 1 << 0
	// flagCgroupFD marks target_fd as a cgroup fd (RFC v7).
	flagCgroupFD uint32 = 1 << 7
)

const (
	cmdLinkCreate   = 28 // BPF_LINK_CREATE
	cmdLinkDetach   = 34 // BPF_LINK_DETACH
	attachStructOps = 44 // BPF_STRUCT_OPS
)

// linkCreateAttr is the link_create member of union bpf_attr, as far as
// struct_ops links to cgroups use it.
type linkCreateAttr struct {
	mapFD      uint32 // map_fd (union with prog_fd)
	targetFD   uint32 // target_fd: the cgroup, RFC v7
	attachType uint32
	flags      uint32
	relativeFD uint32 // cgroup.relative_fd: the cgroup, RFC v6
	_          uint32
	_          uint64 // cgroup.expected_revision
}

// AttachError is a refused BPF_LINK_CREATE.
type AttachError struct {
	Cgroup string
	ABI    kernel.ABI
	Flags  uint32
	Err    error // the errno
}

func (e *AttachError) Error() string {
	msg := fmt.Sprintf("attach memcg_bpf_ops (%s, flags %#x) to %s: %v", e.ABI, e.Flags, e.Cgroup, e.Err)
	if errors.Is(e.Err, unix.EBUSY) {
		msg += " (the cgroup or a descendant already has ops that may not be overridden; attach from the top down, with BPF_F_ALLOW_OVERRIDE where children attach their own)"
	}
	return msg
}

func (e *AttachError) Unwrap() error { return e.Err }

// cgroupLink is a struct_ops link to a cgroup.
type cgroupLink struct{ fd int }

// createCgroupLink attaches the struct_ops map mapFD to the cgroup
// directory dir, in the way the ABI wants.
func createCgroupLink(abi kernel.ABI, mapFD int, dir *os.File, flags uint32) (*cgroupLink, error) {
	attr := linkCreateAttr{mapFD: uint32(mapFD), attachType: attachStructOps, flags: flags}
	switch abi {
	case kernel.ABIv6:
		attr.relativeFD = uint32(dir.Fd())
	case kernel.ABIv7:
		attr.targetFD = uint32(dir.Fd())
		attr.flags |= flagCgroupFD
	default:
		return nil, fmt.Errorf("attach memcg_bpf_ops to %s: refusing on a kernel without a known memcg_bpf_ops ABI, where the ops would apply globally: %w", dir.Name(), kernel.ErrNotSupported)
	}
	fd, _, errno := unix.Syscall(unix.SYS_BPF, cmdLinkCreate, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	runtime.KeepAlive(dir)
	if errno != 0 {
		return nil, &AttachError{Cgroup: dir.Name(), ABI: abi, Flags: flags, Err: errno}
	}
	return &cgroupLink{fd: int(fd)}, nil
}

// Close detaches the link (BPF_LINK_DETACH, which restores the cgroup's
// previous ops at once) and releases it.
func (l *cgroupLink) Close() error {
	if l.fd < 0 {
		return nil
	}
	attr := struct{ linkFD uint32 }{uint32(l.fd)}
	_, _, errno := unix.Syscall(unix.SYS_BPF, cmdLinkDetach, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	cerr := unix.Close(l.fd)
	l.fd = -1
	if errno != 0 && errno != unix.ENOLINK {
		return fmt.Errorf("detach struct_ops link: %w", errno)
	}
	return cerr
}
