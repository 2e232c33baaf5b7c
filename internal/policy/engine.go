package policy

import (
	"fmt"
	"time"

	"github.com/memqos/memqos/internal/config"
)

// Policy decides what to do after each snapshot. Decide must be given
// snapshots in time order; a Policy is not safe for concurrent use.
type Policy interface {
	Decide(s Snapshot) Plan
	// Needs says which fields of a Snapshot the policy reads beyond
	// usage and memory.high, so that the daemon reads no file for
	// nothing.
	Needs() Needs
}

// Means are what the actuators in force can carry out beyond caps,
// protections by knob and escalations, which every host can: the policy
// plans with them, and never asks which actuator it is.
type Means struct {
	// Delay: an actuator delays a LOW class's charges in the kernel
	// while a HIGH class it yields to is under pressure (Plan.Delay).
	Delay bool
	// KernelProtect: an actuator protects a pressured HIGH class from
	// reclaim by itself, so Protect intents are not needed.
	KernelProtect bool
}

// Needs are the optional Snapshot fields a policy reads.
type Needs struct {
	// Reserved: HIGH members' own protection (Member.Reserved).
	Reserved bool
	// AnonTHP: LOW members' THP-backed memory (Member.AnonTHP).
	AnonTHP bool
}

// minDelay is the shortest charge delay the kernel applies: it ignores
// delays of HZ/100 or less (10 ms at HZ=1000).
const minDelay = 11 * time.Millisecond

// stalledShare is the share of wall time a member must spend stalled on
// memory, between two snapshots, to count as making no progress.
const stalledShare = 0.5

// HooksLinger is how long the kernel's hooks stay in place after
// contention was last near (Plan.Hooks), so that memory hovering around
// twice the headroom does not attach and detach them at every tick.
// Attaching loaded memcg_bpf_ops takes about 0.2 ms a member, detaching
// as long (docs/kernel-backend.md): the linger bounds that churn to one
// cycle a member per HooksLinger, not its cost.
const HooksLinger = 30 * time.Second

// Engine is memqos's own policy: it makes the decisions for one
// configuration, with the means the actuators offer.
type Engine struct {
	cfg       *config.Config
	means     Means
	prev      *Snapshot
	pressured map[string]bool         // HIGH class -> under pressure
	low       map[string]*memberState // by member path
	prot      map[string]uint64       // HIGH member path -> protection written
	yield     map[string][]string     // LOW class -> HIGH classes it yields to
	// lastContended is the last snapshot that found memory contended.
	lastContended time.Time
	// lastNear is the last snapshot that found contention near.
	lastNear time.Time
	// highUsage is the HIGH classes' total usage at each snapshot within
	// the last Hold, oldest first (reserve high_growth).
	highUsage []usageAt
}

// usageAt is a usage at an instant.
type usageAt struct {
	at    time.Time
	bytes uint64
}

// memberState is what the engine remembers of a LOW member it acts on.
type memberState struct {
	throttled   bool          // the engine lowered its memory.high, or its class is delayed
	highLowered bool          // the engine lowered its memory.high
	stalled     time.Duration // continuous time without progress while throttled
	exempt      bool          // escalated: left alone until its class's pressure ends
	frozen      bool          // frozen by escalation
	lifted      bool          // its throttle lifted by escalation
}

// New returns the policy cfg names (memqos's Engine, or the reference
// experiment's policy), planning with means.
func New(cfg *config.Config, means Means) (Policy, error) {
	switch cfg.Policy {
	case config.PolicyReference:
		return newReference(cfg, means)
	case config.PolicyDefault, "":
		return newEngine(cfg, means), nil
	}
	return nil, fmt.Errorf("policy: unknown policy %q", cfg.Policy)
}

// Needs reads Reserved where protection is by knob, and AnonTHP where
// LOW is slowed with the delay, which THP faults escape.
func (e *Engine) Needs() Needs {
	return Needs{Reserved: !e.means.KernelProtect, AnonTHP: e.means.Delay}
}

func newEngine(cfg *config.Config, means Means) *Engine {
	e := &Engine{cfg: cfg, means: means, pressured: map[string]bool{}, low: map[string]*memberState{}, prot: map[string]uint64{}, yield: map[string][]string{}}
	for _, c := range cfg.Classes {
		if c.Priority == config.Low {
			e.yield[c.Name] = YieldsTo(cfg, &c)
		}
	}
	return e
}

// YieldsTo returns the HIGH classes whose pressure slows the LOW class c.
func YieldsTo(cfg *config.Config, c *config.Class) []string {
	if len(c.YieldsTo) > 0 {
		return c.YieldsTo
	}
	var highs []string
	for _, h := range cfg.Classes {
		if h.Priority == config.High {
			highs = append(highs, h.Name)
		}
	}
	return highs
}

// Contended reports whether memory under the root is short: its free
// memory is below the configured headroom.
func (e *Engine) Contended(root Memory) bool {
	h := e.cfg.Detector.Headroom.Of(root.Limit)
	return h == 0 || root.Free() < h
}

// near reports whether free memory under the root is within twice the
// headroom.
func (e *Engine) near(root Memory) bool {
	h := e.cfg.Detector.Headroom.Of(root.Limit)
	return h == 0 || root.Free() < 2*h
}
