package bpf

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/memqos/memqos/internal/kernel"
	"golang.org/x/sys/unix"
)

// Role is what memcg_bpf_ops a cgroup gets.
type Role int

const (
	// High cgroups are protected from reclaim (below_low / below_min)
	// while their HIGH class is under pressure.
	High Role = iota
	// Low cgroups have their charges delayed while a HIGH class their LOW
	// class yields to is under pressure.
	Low
)

func (r Role) String() string {
	if r == High {
		return "high"
	}
	return "low"
}

// Ops is memcg_bpf_ops loaded for one role and class, not attached: a
// struct_ops map of its own, loaded with the class id as a constant
// (detaching a map resets every cgroup that shares it). Loading runs the
// verifier, which is the slow part of attaching (see
// docs/kernel-backend.md); Attach then only links the map to a cgroup,
// and the same Ops can be attached again after its Attachment is closed.
// Its methods are safe for concurrent use.
type Ops struct {
	Role  Role
	Class ClassID
	ABI   kernel.ABI
	coll  *ebpf.Collection

	mu       sync.Mutex
	attached bool // an Attachment of these ops is open
	closed   bool
}

// ErrOpsInUse is returned by Ops.Attach while the ops are attached
// already, and by Ops.Close while they are: one map is one attachment
// point.
var ErrOpsInUse = errors.New("bpf: memcg_bpf_ops attached already")

// LoadOps loads a struct_ops map for role and class id, sharing d's maps,
// for Ops.Attach. The class's policy comes from SetHigh or SetLow, also
// when set later; until then the ops answer no. LoadOps refuses, with an
// error wrapping kernel.ErrNotSupported, on kernels without a known
// memcg_bpf_ops ABI. It needs CAP_BPF and CAP_SYS_ADMIN (or root).
func (d *Detector) LoadOps(role Role, id ClassID) (*Ops, error) {
	if err := id.valid(); err != nil {
		return nil, fmt.Errorf("load memcg_bpf_ops %s: %w", role, err)
	}
	abi, err := d.ABI()
	if err != nil {
		return nil, fmt.Errorf("load memcg_bpf_ops %s: %w", role, err)
	}
	coll, err := d.loadOps(abi, role, id)
	if err != nil {
		return nil, err
	}
	return &Ops{Role: role, Class: id, ABI: abi, coll: coll}, nil
}

// Attach attaches the ops to the cgroup whose directory dir is open, with
// flags (0 or FlagAllowOverride), and returns the attachment; closing it
// detaches the ops and leaves them loaded, to be attached again. The
// cgroup's parent must enable the memory controller for it, or the
// kernel attaches to the nearest ancestor that does. It fails with
// ErrOpsInUse while the ops are attached, and ErrClosed after Close.
func (o *Ops) Attach(dir *os.File, flags uint32) (*Attachment, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.closed:
		return nil, fmt.Errorf("attach memcg_bpf_ops to %s: %w", dir.Name(), ErrClosed)
	case o.attached:
		return nil, fmt.Errorf("attach memcg_bpf_ops to %s: %w", dir.Name(), ErrOpsInUse)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(dir.Fd()), &st); err != nil {
		return nil, fmt.Errorf("attach memcg_bpf_ops to %s: %w", dir.Name(), err)
	}
	l, err := createCgroupLink(o.ABI, o.coll.Maps[opsMapName(o.Role)].FD(), dir, flags)
	if err != nil {
		return nil, err
	}
	o.attached = true
	return &Attachment{Role: o.Role, Class: o.Class, ABI: o.ABI, ops: o, link: l, cgroup: dir.Name(), cgID: st.Ino}, nil
}

// Close unloads the ops. It fails with ErrOpsInUse while they are
// attached; it is idempotent.
func (o *Ops) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.attached {
		return ErrOpsInUse
	}
	if !o.closed {
		o.closed = true
		o.coll.Close()
	}
	return nil
}

// detached records that the ops' attachment is closed.
func (o *Ops) detached() {
	o.mu.Lock()
	o.attached = false
	o.mu.Unlock()
}

// Attachment is memcg_bpf_ops attached to one cgroup for one class: the
// link of an Ops. Its methods are safe for concurrent use.
type Attachment struct {
	Role   Role
	Class  ClassID
	ABI    kernel.ABI
	ops    *Ops
	owned  bool // Close unloads ops too (Detector.Attach)
	link   link.Link
	cgroup string
	cgID   uint64

	closeOnce sync.Once
	closeErr  error
}

// ABI returns the running kernel's memcg_bpf_ops ABI, read from BTF.
func (d *Detector) ABI() (kernel.ABI, error) { return kernel.MemcgOpsABI(d.spec) }

// Attach loads ops for role and class id (LoadOps) and attaches them to
// the cgroup whose directory dir is open, with flags (Ops.Attach): the
// attachment's Close detaches and unloads them. It needs CAP_BPF and
// CAP_SYS_ADMIN (or root).
func (d *Detector) Attach(role Role, id ClassID, dir *os.File, flags uint32) (*Attachment, error) {
	if err := id.valid(); err != nil {
		return nil, fmt.Errorf("attach memcg_bpf_ops to %s: %w", dir.Name(), err)
	}
	if _, err := d.ABI(); err != nil {
		return nil, fmt.Errorf("attach memcg_bpf_ops to %s: %w", dir.Name(), err)
	}
	o, err := d.LoadOps(role, id)
	if err != nil {
		return nil, err
	}
	a, err := o.Attach(dir, flags)
	if err != nil {
		o.Close()
		return nil, err
	}
	a.owned = true
	return a, nil
}

// CgroupID returns the id of the cgroup the ops were attached to (its
// directory's inode number, as cgroup.Group.ID).
func (a *Attachment) CgroupID() uint64 { return a.cgID }

// opsMapName is the struct_ops map of role in c/ops_v*.bpf.c; the kernel
// keeps its first 15 bytes as the map's name.
func opsMapName(r Role) string { return "memqos_" + r.String() + "_ops" }

// loadOps loads the struct_ops map for role and class id, sharing the
// detector's maps.
func (d *Detector) loadOps(abi kernel.ABI, role Role, id ClassID) (*ebpf.Collection, error) {
	var spec *ebpf.CollectionSpec
	var err error
	switch abi {
	case kernel.ABIv6:
		spec, err = loadOpsV6()
	case kernel.ABIv7:
		spec, err = loadOpsV7()
	}
	if err != nil {
		return nil, err
	}
	keepOnly(spec, role)
	done, err := d.use()
	if err != nil {
		return nil, err
	}
	defer done()
	if err := spec.Variables["class_id"].Set(uint32(id)); err != nil {
		return nil, fmt.Errorf("load memcg_bpf_ops %s: set class id: %w", role, err)
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{
		MapReplacements: map[string]*ebpf.Map{
			"classes": d.objs.Classes, "class_state": d.objs.ClassState, "counters": d.objs.Counters, "lease": d.objs.Lease,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("load memcg_bpf_ops %s (%s, class %d): %w", role, abi, id, err)
	}
	return coll, nil
}

// rolePrograms are the programs each role's struct_ops map uses.
var rolePrograms = map[Role][]string{
	High: {"memqos_below_low", "memqos_below_min"},
	Low:  {"memqos_delay"},
}

// keepOnly drops the other role's struct_ops map and programs from spec.
func keepOnly(spec *ebpf.CollectionSpec, role Role) {
	for n, m := range spec.Maps {
		if m.Type == ebpf.StructOpsMap && n != opsMapName(role) {
			delete(spec.Maps, n)
		}
	}
	for n := range spec.Programs {
		if !slices.Contains(rolePrograms[role], n) {
			delete(spec.Programs, n)
		}
	}
}

// Close detaches the ops from the cgroup (BPF_LINK_DETACH, which restores
// the cgroup's previous ops at once) and releases the link; an attachment
// made by Detector.Attach also unloads its ops. Call it before the cgroup
// is removed: the RFC skips restoring state when a cgroup with ops
// attached is removed. If the cgroup is removed anyway, Close still
// releases everything and returns nil. Close is idempotent and safe for
// concurrent use: the first call detaches, the others wait for it and
// return its result.
func (a *Attachment) Close() error {
	a.closeOnce.Do(func() {
		a.closeErr = detachAndClose(a.link)
		if a.closeErr != nil {
			a.closeErr = fmt.Errorf("detach memcg_bpf_ops from %s: %w", a.cgroup, a.closeErr)
		}
		a.ops.detached()
		if a.owned {
			a.ops.Close()
		}
	})
	return a.closeErr
}

// LinkInfo describes a memqos memcg_bpf_ops link in the kernel.
type LinkInfo struct {
	// ID is the link id.
	ID link.ID
	// MapID and MapName are its struct_ops map's id and name
	// (memqos_high_ops or memqos_low_ops).
	MapID   ebpf.MapID
	MapName string
}

// StructOpsLinks lists every memqos memcg_bpf_ops link in the kernel, of
// any process: struct_ops links whose map is named memqos_high_ops or
// memqos_low_ops. A closed link can stay listed for a moment (the kernel
// frees links after an RCU grace period). It needs CAP_SYS_ADMIN.
func StructOpsLinks() ([]LinkInfo, error) {
	var out []LinkInfo
	err := eachLink(func(id link.ID, l link.Link, t link.Type) error {
		if t != link.StructOpsType {
			return nil
		}
		li, ok, err := memqosLink(id, l)
		if ok {
			out = append(out, li)
		}
		return err
	})
	return out, err
}

// eachLink calls fn with every BPF link of the kernel, with the kernel's
// own link iteration (BPF_LINK_GET_NEXT_ID), until fn fails.
func eachLink(fn func(id link.ID, l link.Link, t link.Type) error) error {
	it := new(link.Iterator)
	defer it.Close()
	for it.Next() {
		info, err := it.Link.Info()
		if err != nil {
			return fmt.Errorf("link %d: %w", it.ID, err)
		}
		if err := fn(it.ID, it.Link, info.Type); err != nil {
			return err
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("list BPF links: %w", err)
	}
	return nil
}

// memqosLink reports whether the struct_ops link l is memqos's.
func memqosLink(id link.ID, l link.Link) (LinkInfo, bool, error) {
	fder, ok := l.(interface{ FD() int })
	if !ok {
		return LinkInfo{}, false, fmt.Errorf("link %d: no fd", id)
	}
	mapID, err := structOpsMapID(fder.FD())
	if err != nil {
		return LinkInfo{}, false, fmt.Errorf("link %d: %w", id, err)
	}
	if mapID == 0 {
		return LinkInfo{}, false, nil // detached: no map any more
	}
	m, err := ebpf.NewMapFromID(ebpf.MapID(mapID))
	if errors.Is(err, os.ErrNotExist) {
		return LinkInfo{}, false, nil // detached and freed meanwhile
	}
	if err != nil {
		return LinkInfo{}, false, fmt.Errorf("link %d: map %d: %w", id, mapID, err)
	}
	defer m.Close()
	mi, err := m.Info()
	if err != nil {
		return LinkInfo{}, false, fmt.Errorf("link %d: map %d: %w", id, mapID, err)
	}
	name := mi.Name
	if name != opsMapName(High) && name != opsMapName(Low) {
		return LinkInfo{}, false, nil
	}
	return LinkInfo{ID: id, MapID: ebpf.MapID(mapID), MapName: name}, true, nil
}

// KernelLink is one BPF link of the kernel, of any process.
type KernelLink struct {
	ID   link.ID
	Type link.Type
}

// KernelLinks lists every BPF link in the kernel, of any process. A closed
// link can stay listed for
// a moment (the kernel frees links after an RCU grace period). It needs
// CAP_SYS_ADMIN.
func KernelLinks() ([]KernelLink, error) {
	var out []KernelLink
	err := eachLink(func(id link.ID, _ link.Link, t link.Type) error {
		out = append(out, KernelLink{ID: id, Type: t})
		return nil
	})
	return out, err
}
