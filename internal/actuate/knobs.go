package actuate

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/govern"
	"github.com/memqos/memqos/internal/policy"
)

// Knobs carries out intents with cgroup files, on any cgroup v2 kernel:
// Protect and Unprotect with memory.low or memory.min (as the member's
// class protects), Cap, Uncap and Lift with memory.high, Freeze and Thaw
// with cgroup.freeze, Kill with cgroup.kill. Every change goes through
// the journaled govern.Knobs, so each file's original comes back.
type Knobs struct {
	knobs govern.Knobs
}

// NewKnobs returns the knob actuator writing through k.
func NewKnobs(k govern.Knobs) *Knobs { return &Knobs{knobs: k} }

func (a *Knobs) Name() string { return string(config.BackendCgroupFS) }

// Add and Remove do nothing: the daemon restores a member's knobs when it
// drops the member.
func (a *Knobs) Add(*govern.Member) error    { return nil }
func (a *Knobs) Remove(*govern.Member) error { return nil }
func (a *Knobs) Close() error                { return nil }

// Apply writes the files of each intent, in order. A failure on a member
// that is gone is no error: the next scan drops it.
func (a *Knobs) Apply(p policy.Plan, members map[string]*govern.Member) error {
	var errs []error
	for _, in := range p.Intents {
		m := members[in.Path]
		if m == nil {
			continue
		}
		if err := a.apply(in, m); err != nil && m.Group.Exists() {
			errs = append(errs, fmt.Errorf("%s %s: %w", in.Kind, in.Path, err))
		}
	}
	return errors.Join(errs...)
}

func (a *Knobs) apply(in policy.Intent, m *govern.Member) error {
	switch in.Kind {
	case policy.Protect:
		if f := ProtectFile(m.Class); f != "" {
			return a.knobs.Set(m.Path, f, strconv.FormatUint(in.Bytes, 10), in.Reason)
		}
	case policy.Unprotect:
		if f := ProtectFile(m.Class); f != "" {
			return a.knobs.Restore(m.Path, f, in.Reason)
		}
	case policy.Cap:
		return a.knobs.Set(m.Path, cgroup.MemoryHigh, limit(in.Bytes), in.Reason)
	case policy.Uncap, policy.Lift:
		return a.uncap(m, in.Reason)
	case policy.Freeze:
		return a.knobs.Set(m.Path, cgroup.CgroupFreeze, "1", in.Reason)
	case policy.Thaw:
		return a.knobs.Restore(m.Path, cgroup.CgroupFreeze, in.Reason)
	case policy.Kill:
		return a.knobs.Do(m.Path, cgroup.CgroupKill, "1", in.Reason)
	}
	return nil
}

// uncap undoes the policy's cap of a member: back to its class's static
// memory.high if it has one, else to the original.
func (a *Knobs) uncap(m *govern.Member, reason string) error {
	if m.Class.MemoryHigh.Bytes > 0 {
		return a.knobs.Set(m.Path, cgroup.MemoryHigh, strconv.FormatUint(m.Class.MemoryHigh.Bytes, 10), reason)
	}
	return a.knobs.Restore(m.Path, cgroup.MemoryHigh, reason)
}

// ProtectFile is the file with which members of c are protected from
// reclaim by knob, or "" if c protects with none.
func ProtectFile(c *config.Class) string {
	switch c.Protect {
	case config.ProtectLow:
		return cgroup.MemoryLow
	case config.ProtectMin:
		return cgroup.MemoryMin
	}
	return ""
}
