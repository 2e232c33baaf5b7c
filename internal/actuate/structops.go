package actuate

import (
	"errors"
	"time"

	"github.com/memqos/memqos/internal/bpf"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/govern"
	"github.com/memqos/memqos/internal/memcgbpf"
	"github.com/memqos/memqos/internal/policy"
)

// StructOpsMeans is what memcg_bpf_ops adds: the charge delay, and
// protection of pressured HIGH classes in the kernel (below_low,
// below_min).
var StructOpsMeans = policy.Means{Delay: true, KernelProtect: true}

// StructOps acts in the kernel through memcg_bpf_ops: one attachment per
// member, whose programs protect HIGH classes under pressure and delay
// LOW classes' charges, from the pressure state the pgfault detector
// keeps in the same Object. A member's ops are loaded when it is added,
// and attached only while the plan wants the kernel's hooks (Plan.Hooks:
// near contention), because attached ops cost every charge batch of the
// member something even when they answer no. It carries out the plan's
// delays, and Lift and Unlift (detaching a member's ops and attaching
// them again). It needs a kernel with the RFC, and BPF privileges.
type StructOps struct {
	obj    *memcgbpf.Object
	lease  time.Duration
	links  *opsLinks
	delays map[string]time.Duration // by LOW class, as programmed
}

// attachGrace lengthens the lease while a member's ops load: the verifier
// can take seconds on a slow or busy machine (4.8 s for a LOW member in a
// TCG guest with two busy vCPUs), and the loop renews nothing meanwhile.
// A load that hangs keeps LOW slowed for at most lease + attachGrace.
const attachGrace = 30 * time.Second

// NewStructOps returns the memcg_bpf_ops actuator on obj, which its owner
// closes after Close. Its ops act only while Heartbeat renews the lease
// (see govern.Leaser).
func NewStructOps(obj *memcgbpf.Object, lease time.Duration) (*StructOps, error) {
	if err := obj.Det.SetLease(lease); err != nil {
		return nil, err
	}
	return &StructOps{obj: obj, lease: lease, links: newOpsLinks(), delays: map[string]time.Duration{}}, nil
}

// Heartbeat renews the lease in the kernel.
func (a *StructOps) Heartbeat() error { return a.obj.Det.Heartbeat() }

func (a *StructOps) Name() string { return string(config.BackendStructOps) }

// Add loads the ops for a member's cgroup, with its class, and attaches
// them if the hooks are wanted.
func (a *StructOps) Add(m *govern.Member) error {
	role := bpf.Low
	if m.High() {
		role = bpf.High
	}
	// Loading a member's ops can take seconds, and the loop renews no
	// lease meanwhile: the load has a grace.
	defer a.obj.Det.SetLease(a.lease)
	if err := a.obj.Det.SetLease(a.lease + attachGrace); err != nil {
		return err
	}
	o, err := a.obj.Det.LoadOps(role, a.obj.ID(m.Class.Name))
	if err != nil {
		return err
	}
	return a.links.add(m.Path, &kernelOps{ops: o, member: m})
}

// Remove detaches and unloads a member's ops; for a member already
// removed, the detach finds the link gone, which is not an error.
func (a *StructOps) Remove(m *govern.Member) error { return a.links.remove(m.Path) }

// Apply programs each LOW class's delay where it changed, attaches or
// detaches the members' ops as the plan wants the hooks, and detaches or
// reattaches members' ops for Lift and Unlift.
func (a *StructOps) Apply(p policy.Plan, members map[string]*govern.Member) error {
	var errs []error
	for _, c := range a.obj.Classes() {
		if c.Priority != config.Low {
			continue
		}
		if d, ok := a.delays[c.Name]; ok && d == p.Delay[c.Name] {
			continue
		}
		err := a.obj.Det.SetLow(a.obj.ID(c.Name), bpf.LowConfig{Delay: p.Delay[c.Name], YieldsTo: a.obj.YieldIDs(&c)})
		if err == nil {
			a.delays[c.Name] = p.Delay[c.Name]
		}
		errs = append(errs, err)
	}
	for _, in := range p.Intents {
		if members[in.Path] == nil {
			continue
		}
		switch in.Kind {
		case policy.Lift:
			errs = append(errs, a.links.lift(in.Path))
		case policy.Unlift:
			errs = append(errs, a.links.unlift(in.Path))
		}
	}
	errs = append(errs, a.links.set(p.Hooks))
	return errors.Join(errs...)
}

// Attached returns how many members have the ops attached.
func (a *StructOps) Attached() int { return a.links.linked() }

// Close detaches and unloads every member's ops.
func (a *StructOps) Close() error { return a.links.close() }

// kernelOps is a member's loaded ops, attached to its cgroup by Link.
type kernelOps struct {
	ops    *bpf.Ops
	member *govern.Member
	att    *bpf.Attachment
}

func (k *kernelOps) Link() error {
	dir, err := k.member.Group.OpenDir()
	if err != nil {
		return err
	}
	defer dir.Close()
	att, err := k.ops.Attach(dir, 0)
	if err != nil {
		return err
	}
	k.att = att
	return nil
}

func (k *kernelOps) Unlink() error {
	if k.att == nil {
		return nil
	}
	err := k.att.Close()
	k.att = nil
	return err
}

func (k *kernelOps) Close() error { return k.ops.Close() }
