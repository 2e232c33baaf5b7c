package config

import (
	"slices"
	"time"
)

// Default values that do not depend on the preset.
const (
	DefaultRoot    = "memqos"
	DefaultState   = "/run/memqos/state.json"
	DefaultMetrics = "127.0.0.1:9464"
	// DefaultLease is ten turns of the daemon's idle loop (500 ms).
	DefaultLease = 5 * time.Second
)

// The bounds of lease: at least four turns of the idle loop, so that a
// slow turn does not end it, and short enough that a hung daemon does not
// keep LOW slowed for long.
const (
	MinLease = 2 * time.Second
	MaxLease = time.Minute
)

// DefaultExclude are the cgroup names that are never members unless the
// configuration says otherwise: the groups podman's container monitor
// (conmon) gets with the cgroupfs manager ("conmon") and with the systemd
// manager ("libpod-conmon-<id>.scope"). They hold no workload.
var DefaultExclude = []string{"conmon", "libpod-conmon-*"}

// preset is the values a policy gives the fields left out.
type preset struct {
	backend  Backend
	lease    Lease
	detector Detector
	high     Class // HIGH class fields
	low      Class // LOW class fields
}

const mib = 1 << 20

var presets = map[PolicyName]preset{
	// memqos's own policy: pressure counts only while memory is contended,
	// LOW is slowed with a short delay, and never squeezed below a floor.
	PolicyDefault: {
		backend: BackendAuto,
		lease:   Lease(DefaultLease),
		detector: Detector{
			Source: SourceAuto, Threshold: 1000, Stall: Duration(50 * time.Millisecond),
			Window: Duration(time.Second), Hold: Duration(2 * time.Second),
			Headroom: Size{Percent: 10},
		},
		// HIGH classes get the largest CPU weight: a session that must
		// keep its speed must not lose the CPU to LOW ones either. The
		// weight costs nothing without contention: CPU time is shared by
		// weight only among runnable tasks.
		high: Class{Protect: ProtectLow, CPUWeight: 10000},
		low: Class{
			Delay: Duration(50 * time.Millisecond), Floor: Size{Bytes: 128 * mib}, Step: Size{Bytes: 32 * mib},
			Escalation: Escalation{After: Duration(30 * time.Second), Action: ActionNone},
		},
	},
	// The reference experiment: more than 10000 HIGH page faults in a
	// second delay every LOW charge by 50 ms, HIGH gets below_low, and LOW
	// has memory.high=400M throughout; no contention gate.
	// The lease is memqos's own: the daemon that runs this policy fails
	// open when it hangs, as with any other.
	PolicyReference: {
		backend: BackendStructOps,
		lease:   Lease(DefaultLease),
		detector: Detector{
			Source: SourcePgfault, Threshold: 10000, Stall: Duration(50 * time.Millisecond),
			Window: Duration(time.Second), Hold: Duration(time.Second),
			Headroom: Size{}, // always contended
		},
		high: Class{Protect: ProtectLow},
		low: Class{
			Slow: SlowDelay, Delay: Duration(50 * time.Millisecond), MemoryHigh: Size{Bytes: 400 * mib},
			Escalation: Escalation{Action: ActionNone},
		},
	},
}

// applyPreset fills the fields left out with the preset's values.
func (c *Config) applyPreset() {
	if c.Policy == "" {
		c.Policy = PolicyDefault
	}
	p := presets[c.Policy]
	setDefault(&c.Root, DefaultRoot)
	setDefault(&c.State, DefaultState)
	if c.Exclude == nil {
		c.Exclude = slices.Clone(DefaultExclude)
	}
	setDefault(&c.Backend, p.backend)
	setDefault(&c.Lease, p.lease)
	if c.NRI != nil {
		c.NRI.applyDefaults()
	}
	d := &c.Detector
	setDefault(&d.Source, p.detector.Source)
	setDefault(&d.Threshold, p.detector.Threshold)
	setDefault(&d.Stall, p.detector.Stall)
	setDefault(&d.Window, p.detector.Window)
	setDefault(&d.Hold, p.detector.Hold)
	setDefault(&d.Headroom, p.detector.Headroom)
	setDefault(&d.Reserve, ReserveHalfHeadroom)
	for i := range c.Classes {
		cl := &c.Classes[i]
		if len(cl.Members) == 0 && cl.Name != "" && c.NRI == nil {
			cl.Members = []string{cl.Name + "/*"}
		}
		switch cl.Priority {
		case High:
			setDefault(&cl.Protect, p.high.Protect)
			setDefault(&cl.CPUWeight, p.high.CPUWeight)
		case Low:
			applyLow(cl, &p.low)
		}
	}
}

func applyLow(cl, p *Class) {
	setDefault(&cl.Slow, p.Slow) // "" means: as the backend can
	setDefault(&cl.Delay, p.Delay)
	setDefault(&cl.MemoryHigh, p.MemoryHigh)
	setDefault(&cl.Floor, p.Floor)
	setDefault(&cl.Step, p.Step)
	setDefault(&cl.Escalation.After, p.Escalation.After)
	setDefault(&cl.Escalation.Action, p.Escalation.Action)
}

func setDefault[T comparable](dst *T, v T) {
	var zero T
	if *dst == zero {
		*dst = v
	}
}
