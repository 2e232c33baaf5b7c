package policy

import (
	"errors"
	"time"

	"github.com/memqos/memqos/internal/config"
)

// Reference is the reference experiment's policy, kept for comparison: a
// HIGH class is under pressure from its detector's trigger until Hold
// after the last one, with no contention gate; every LOW class has its
// charges delayed by its configured delay while a HIGH class it yields to
// is under pressure, and the kernel protects HIGH (below_low). It caps,
// protects by knob and escalates nothing: LOW's static memory.high (400M
// in the preset) is a class setting the daemon applies to members.
type Reference struct {
	cfg       *config.Config
	pressured map[string]bool
}

func newReference(cfg *config.Config, means Means) (*Reference, error) {
	if !means.Delay || !means.KernelProtect {
		return nil, errors.New("policy reference needs the charge delay and the kernel's protection of memcg_bpf_ops (backend structops)")
	}
	return &Reference{cfg: cfg, pressured: map[string]bool{}}, nil
}

// Needs is nothing beyond usage: the reference reads no optional field.
func (r *Reference) Needs() Needs { return Needs{} }

// Decide arms every HIGH class, follows its pressure, and sets each LOW
// class's delay.
func (r *Reference) Decide(s Snapshot) Plan {
	p := Plan{Contended: true, Near: true, Hooks: true, Pressured: map[string]bool{}, Arm: map[string]bool{}, Delay: map[string]time.Duration{}}
	hold := r.cfg.Detector.Hold.D()
	for _, cs := range s.Classes {
		c := r.cfg.Class(cs.Name)
		if c == nil {
			continue
		}
		switch c.Priority {
		case config.High:
			p.Arm[c.Name] = true
			p.Pressured[c.Name] = !cs.LastTrigger.IsZero() && s.Now.Sub(cs.LastTrigger) <= hold
		case config.Low:
			if c.Slow != config.SlowHigh {
				p.Delay[c.Name] = max(c.Delay.D(), minDelay)
			}
		}
	}
	return p
}
