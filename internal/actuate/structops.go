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
// keeps in the same Object. It carries out the plan's delays, and Lift
// and Unlift (detaching a member's delay and attaching it again). It
// needs a kernel with the RFC, and BPF privileges.
type StructOps struct {
	obj    *memcgbpf.Object
	lease  time.Duration
	links  map[string]*bpf.Attachment // by member path
	lifted map[string]*govern.Member
	delays map[string]time.Duration // by LOW class, as programmed
}

// attachGrace lengthens the lease while a member's ops load and attach:
// the verifier can take seconds on a slow or busy machine (4.8 s for a LOW
// member in a TCG guest with two busy vCPUs), and the loop renews nothing
// meanwhile. An attach that hangs keeps LOW slowed for at most lease +
// attachGrace.
const attachGrace = 30 * time.Second

// NewStructOps returns the memcg_bpf_ops actuator on obj, which its owner
// closes after Close. Its ops act only while Heartbeat renews the lease
// (see govern.Leaser).
func NewStructOps(obj *memcgbpf.Object, lease time.Duration) (*StructOps, error) {
	if err := obj.Det.SetLease(lease); err != nil {
		return nil, err
	}
	return &StructOps{obj: obj, lease: lease, links: map[string]*bpf.Attachment{}, lifted: map[string]*govern.Member{}, delays: map[string]time.Duration{}}, nil
}

// Heartbeat renews the lease in the kernel.
func (a *StructOps) Heartbeat() error { return a.obj.Det.Heartbeat() }

func (a *StructOps) Name() string { return string(config.BackendStructOps) }

// Add attaches the ops to a member's cgroup, with its class.
func (a *StructOps) Add(m *govern.Member) error {
	dir, err := m.Group.OpenDir()
	if err != nil {
		return err
	}
	defer dir.Close()
	role := bpf.Low
	if m.High() {
		role = bpf.High
	}
	// Loading a member's ops can take seconds, and the loop renews no
	// lease meanwhile: the attach has a grace.
	defer a.obj.Det.SetLease(a.lease)
	if err := a.obj.Det.SetLease(a.lease + attachGrace); err != nil {
		return err
	}
	l, err := a.obj.Det.Attach(role, a.obj.ID(m.Class.Name), dir, 0)
	if err != nil {
		return err
	}
	a.links[m.Path] = l
	return nil
}

// Remove detaches a member's ops; for a member already removed, the
// detach finds the link gone, which is not an error.
func (a *StructOps) Remove(m *govern.Member) error {
	var err error
	if l := a.links[m.Path]; l != nil {
		err = l.Close()
		delete(a.links, m.Path)
	}
	delete(a.lifted, m.Path)
	return err
}

// Apply programs each LOW class's delay where it changed, and detaches or
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
		if m := members[in.Path]; m != nil {
			switch in.Kind {
			case policy.Lift:
				errs = append(errs, a.lift(m))
			case policy.Unlift:
				errs = append(errs, a.unlift(m))
			}
		}
	}
	return errors.Join(errs...)
}

func (a *StructOps) lift(m *govern.Member) error {
	l := a.links[m.Path]
	if l == nil {
		return nil
	}
	delete(a.links, m.Path)
	a.lifted[m.Path] = m
	return l.Close()
}

func (a *StructOps) unlift(m *govern.Member) error {
	if _, ok := a.lifted[m.Path]; !ok {
		return nil
	}
	delete(a.lifted, m.Path)
	return a.Add(m)
}

// Attached returns how many members have the ops attached.
func (a *StructOps) Attached() int { return len(a.links) }

// Close detaches every member's ops.
func (a *StructOps) Close() error {
	var errs []error
	for p, l := range a.links {
		errs = append(errs, l.Close())
		delete(a.links, p)
	}
	return errors.Join(errs...)
}
