package bpf

import (
	"fmt"
	"os"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/memqos/memqos/internal/kernel"
)

// Role is what memcg_bpf_ops a cgroup gets.
type Role int

const (
	// High cgroups are protected from reclaim while HIGH is under pressure.
	High Role = iota
	// Low cgroups have their charges delayed while HIGH is under pressure.
	Low
)

func (r Role) String() string {
	if r == High {
		return "high"
	}
	return "low"
}

// Attachment is memcg_bpf_ops attached to one cgroup: a struct_ops map of
// its own (detaching a map resets every cgroup that shares it) and its link.
type Attachment struct {
	Role   Role
	ABI    kernel.ABI
	coll   *ebpf.Collection
	link   *cgroupLink
	cgroup string
}

// ABI returns the running kernel's memcg_bpf_ops ABI, read from BTF.
func (d *Detector) ABI() (kernel.ABI, error) { return kernel.MemcgOpsABI(d.spec) }

// Attach loads a struct_ops map for role and attaches it to the cgroup
// whose directory dir is open, with flags (0 or FlagAllowOverride). The
// cgroup's parent must enable the memory controller for it, or the kernel
// attaches to the nearest ancestor that does. Attach refuses, with an error
// wrapping kernel.ErrNotSupported, on kernels without a known
// memcg_bpf_ops ABI.
func (d *Detector) Attach(role Role, dir *os.File, flags uint32) (*Attachment, error) {
	abi, err := d.ABI()
	if err != nil {
		return nil, fmt.Errorf("attach memcg_bpf_ops to %s: %w", dir.Name(), err)
	}
	coll, err := d.loadOps(abi, role)
	if err != nil {
		return nil, err
	}
	l, err := createCgroupLink(abi, coll.Maps[opsMapName(role)].FD(), dir, flags)
	if err != nil {
		coll.Close()
		return nil, err
	}
	return &Attachment{Role: role, ABI: abi, coll: coll, link: l, cgroup: dir.Name()}, nil
}

func opsMapName(r Role) string { return r.String() + "_ops" }

// loadOps loads the struct_ops map for role, sharing the detector's maps.
func (d *Detector) loadOps(abi kernel.ABI, role Role) (*ebpf.Collection, error) {
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
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{
		MapReplacements: map[string]*ebpf.Map{
			"config": d.objs.Config, "state": d.objs.State, "counters": d.objs.Counters,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("load memcg_bpf_ops %s (%s): %w", role, abi, err)
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

// Close detaches the ops from the cgroup and unloads them. Call it before
// the cgroup is removed: the RFC skips restoring state when a cgroup with
// ops attached is removed.
func (a *Attachment) Close() error {
	err := a.link.Close()
	a.coll.Close()
	return err
}
