package policy

import (
	"fmt"
	"time"

	"github.com/memqos/memqos/internal/config"
)

// Mode is the backend the plans are for.
type Mode string

// Modes.
const (
	// StructOps: the kernel detects HIGH's page faults, protects HIGH
	// (below_low/below_min) and delays LOW's charges; the engine arms the
	// detector while memory is contended and sets the delay.
	StructOps Mode = "structops"
	// CgroupFS: the engine writes memory.high of LOW members and
	// memory.low or memory.min of HIGH members.
	CgroupFS Mode = "cgroupfs"
)

// minDelay is the shortest charge delay the kernel applies: it ignores
// delays of HZ/100 or less (10 ms at HZ=1000).
const minDelay = 11 * time.Millisecond

// stalledShare is the share of wall time a member must spend stalled on
// memory, between two snapshots, to count as making no progress.
const stalledShare = 0.5

// Engine makes the decisions for one configuration and backend.
type Engine struct {
	cfg       *config.Config
	mode      Mode
	prev      *Snapshot
	pressured map[string]bool         // HIGH class -> under pressure
	low       map[string]*memberState // by member path
	prot      map[string]uint64       // HIGH member path -> protection written
	yield     map[string][]string     // LOW class -> HIGH classes it yields to
	// lastContended is the last snapshot that found memory contended.
	lastContended time.Time
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

// New returns an engine for cfg, acting through mode.
func New(cfg *config.Config, mode Mode) (*Engine, error) {
	if mode != StructOps && mode != CgroupFS {
		return nil, fmt.Errorf("policy: unknown mode %q", mode)
	}
	e := &Engine{cfg: cfg, mode: mode, pressured: map[string]bool{}, low: map[string]*memberState{}, prot: map[string]uint64{}, yield: map[string][]string{}}
	var highs []string
	for _, c := range cfg.Classes {
		if c.Priority == config.High {
			highs = append(highs, c.Name)
		}
	}
	for _, c := range cfg.Classes {
		if c.Priority == config.Low {
			e.yield[c.Name] = highs
			if len(c.YieldsTo) > 0 {
				e.yield[c.Name] = c.YieldsTo
			}
		}
	}
	return e, nil
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

// YieldsTo returns the HIGH classes whose pressure slows the LOW class.
func (e *Engine) YieldsTo(low string) []string { return e.yield[low] }
