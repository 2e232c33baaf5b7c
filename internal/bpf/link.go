package bpf

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"github.com/cilium/ebpf/link"
	"github.com/memqos/memqos/internal/kernel"
	"golang.org/x/sys/unix"
)

// This file is memqos's one piece of raw BPF syscall plumbing: cilium/ebpf's
// link.AttachStructOps can neither target a cgroup nor pass flags, which
// attaching memcg_bpf_ops to a cgroup needs, and its link.Info does not
// decode a struct_ops link's map id. The link fd is handed to
// cilium/ebpf (link.NewFromFD) at once.

// Attach flags for struct_ops links to cgroups.
const (
	// FlagAllowOverride lets descendants replace the ops they inherit.
	FlagAllowOverride uint32 = 1 << 0
	// flagCgroupFD marks target_fd as a cgroup fd (RFC v7).
	flagCgroupFD uint32 = 1 << 7
)

const (
	cmdObjGetInfoByFD = 15 // BPF_OBJ_GET_INFO_BY_FD
	cmdLinkCreate     = 28 // BPF_LINK_CREATE
	attachStructOps   = 44 // BPF_STRUCT_OPS
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

// createCgroupLink attaches the struct_ops map mapFD to the cgroup
// directory dir, in the way the ABI wants, and returns the link, which
// owns the new fd.
func createCgroupLink(abi kernel.ABI, mapFD int, dir *os.File, flags uint32) (link.Link, error) {
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
	l, err := link.NewFromFD(int(fd))
	if err != nil { // NewFromFD closes fd on error
		return nil, fmt.Errorf("attach memcg_bpf_ops to %s: wrap link: %w", dir.Name(), err)
	}
	return l, nil
}

// detachAndClose detaches l (BPF_LINK_DETACH, which restores the cgroup's
// previous ops at once) and releases its fd. A link the kernel has
// already detached (ENOLINK, for example after its cgroup was removed) is
// not an error.
func detachAndClose(l link.Link) error {
	err := l.Detach()
	if errors.Is(err, unix.ENOLINK) {
		err = nil
	}
	if err != nil {
		err = fmt.Errorf("detach struct_ops link: %w", err)
	}
	return errors.Join(err, l.Close())
}

// structOpsMapID returns the id of the struct_ops map of the link with fd
// (bpf_link_info.struct_ops.map_id, which cilium/ebpf does not decode).
func structOpsMapID(fd int) (uint32, error) {
	var info struct {
		typ, id, progID uint32
		_               uint32
		mapID           uint32 // struct_ops.map_id, at offset 16
		_               [60]byte
	}
	attr := struct {
		fd, infoLen uint32
		info        uint64
	}{uint32(fd), uint32(unsafe.Sizeof(info)), uint64(uintptr(unsafe.Pointer(&info)))}
	_, _, errno := unix.Syscall(unix.SYS_BPF, cmdObjGetInfoByFD, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	runtime.KeepAlive(&info)
	if errno != 0 {
		return 0, fmt.Errorf("link info: %w", errno)
	}
	return info.mapID, nil
}
