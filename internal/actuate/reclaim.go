package actuate

import (
	"errors"
	"strconv"
	"syscall"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/govern"
	"github.com/memqos/memqos/internal/policy"
)

// Reclaim asks the kernel, through memory.reclaim, to reclaim a LOW
// member's memory each time the policy caps it: up to its class's
// reclaim_on_cap. Reclaim takes page cache first (and, with swap,
// anonymous memory), so that the cap that follows bites later. A member
// with less to reclaim than asked is no error (the kernel says EAGAIN);
// Reclaimed counts the bytes asked for, per class. It needs
// memory.reclaim (Linux 5.19).
type Reclaim struct {
	knobs govern.Knobs
	// Asked counts, by class, the bytes memqos asked the kernel to
	// reclaim, and Short the requests it could not satisfy in full.
	Asked, Short map[string]uint64
}

// NewReclaim returns the reclaim actuator writing through k.
func NewReclaim(k govern.Knobs) *Reclaim {
	return &Reclaim{knobs: k, Asked: map[string]uint64{}, Short: map[string]uint64{}}
}

func (a *Reclaim) Name() string { return "reclaim" }

func (a *Reclaim) Add(*govern.Member) error    { return nil }
func (a *Reclaim) Remove(*govern.Member) error { return nil }
func (a *Reclaim) Close() error                { return nil }

// Apply reclaims from each member the plan caps, if its class asks for it.
func (a *Reclaim) Apply(p policy.Plan, members map[string]*govern.Member) error {
	var errs []error
	for _, in := range p.Intents {
		m := members[in.Path]
		if in.Kind != policy.Cap || m == nil || m.Class.Priority != config.Low || m.Class.ReclaimOnCap.Bytes == 0 {
			continue
		}
		n := m.Class.ReclaimOnCap.Bytes
		err := a.knobs.Do(m.Path, cgroup.MemoryReclaim, strconv.FormatUint(n, 10), "before capping it: "+in.Reason)
		a.Asked[m.Class.Name] += n
		switch {
		case errors.Is(err, syscall.EAGAIN):
			a.Short[m.Class.Name]++ // less to reclaim than asked
		case err != nil && m.Group.Exists():
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
