package policy

import (
	"fmt"
	"time"

	"github.com/memqos/memqos/internal/config"
)

// Plan is what the daemon must have done after a snapshot: intents that
// the actuators in force translate into what they can carry out.
type Plan struct {
	// Contended says memory under the root is short.
	Contended bool
	// Near says free memory under the root is within twice the headroom:
	// contention may be a moment away, and the daemon looks more often.
	Near bool
	// Hooks says the kernel's hooks on the charge path should be in
	// place (with Means.Delay: memcg_bpf_ops attached to the members):
	// contention is near, or was within HooksLinger. Away from contention
	// they would answer no, at a cost on every charge batch.
	Hooks bool
	// Pressured lists, by HIGH class, whether it is under pressure.
	Pressured map[string]bool
	// Arm lists, by HIGH class, whether its detector may report
	// pressure: true while memory is contended.
	Arm map[string]bool
	// Delay lists, by LOW class, the charge delay while a HIGH class it
	// yields to is under pressure (with Means.Delay); 0: no delay.
	Delay map[string]time.Duration
	// Intents are what to do to members, in order.
	Intents []Intent
}

// Kind is what an Intent asks.
type Kind string

// Intent kinds. Protect raises a HIGH member's protection from reclaim to
// Bytes (memory.low or memory.min, as its class protects), Unprotect gives
// back what memqos raised. Cap limits a LOW member's growth at Bytes
// (memory.high), Uncap undoes that. Lift lifts memqos's throttle from one
// member (its cap and its charge delay) until its class's pressure ends,
// Unlift undoes that; Freeze, Thaw and Kill are the other escalations.
const (
	Protect   Kind = "protect"
	Unprotect Kind = "unprotect"
	Cap       Kind = "cap"
	Uncap     Kind = "uncap"
	Lift      Kind = "lift"
	Unlift    Kind = "unlift"
	Freeze    Kind = "freeze"
	Thaw      Kind = "thaw"
	Kill      Kind = "kill"
)

// Escalations are the kinds that escalate a stalled LOW member, and their
// undoing.
var Escalations = []Kind{Lift, Unlift, Freeze, Thaw, Kill}

// Intent is one thing to do to one member.
type Intent struct {
	Kind   Kind
	Path   string // the member, relative to the cgroup mount
	Bytes  uint64 // Protect, Cap
	Reason string
}

func (i Intent) String() string {
	if i.Kind == Protect || i.Kind == Cap {
		return fmt.Sprintf("%s: %s %d (%s)", i.Path, i.Kind, i.Bytes, i.Reason)
	}
	return fmt.Sprintf("%s: %s (%s)", i.Path, i.Kind, i.Reason)
}

// Decide returns the plan for s. Snapshots must come in time order.
func (e *Engine) Decide(s Snapshot) Plan {
	p := Plan{
		Contended: e.Contended(s.Root), Near: e.near(s.Root),
		Pressured: map[string]bool{}, Arm: map[string]bool{}, Delay: map[string]time.Duration{},
	}
	for _, cs := range s.Classes {
		c := e.cfg.Class(cs.Name)
		if c == nil || c.Priority != config.High {
			continue
		}
		p.Pressured[cs.Name] = e.highPressure(cs, s.Now, p.Contended)
		p.Arm[cs.Name] = p.Contended
		if !e.means.KernelProtect {
			e.protect(&p, c, cs, p.Pressured[cs.Name])
		}
	}
	if p.Contended {
		e.lastContended = s.Now
	}
	if p.Near {
		e.lastNear = s.Now
	}
	p.Hooks = !e.lastNear.IsZero() && s.Now.Sub(e.lastNear) <= HooksLinger
	squeeze := !e.lastContended.IsZero() && s.Now.Sub(e.lastContended) <= e.cfg.Detector.Hold.D()
	e.recordHighUsage(s)
	share := e.lowShare(s)
	for _, cs := range s.Classes {
		c := e.cfg.Class(cs.Name)
		if c == nil || c.Priority != config.Low {
			continue
		}
		p.Delay[cs.Name] = e.delay(c, s.Root, p.Contended)
		e.slowLow(&p, c, cs, s, lowState{squeeze: squeeze, yield: e.yieldsToPressure(cs.Name, p.Pressured), share: share})
	}
	e.forgetGone(s)
	prev := s
	e.prev = &prev
	return p
}

// lowShare is how much more each LOW member may take while memory is
// contended: the free memory above the reserve kept for HIGH (reserve),
// split evenly among the LOW members.
func (e *Engine) lowShare(s Snapshot) uint64 {
	var n uint64
	for _, cs := range s.Classes {
		if c := e.cfg.Class(cs.Name); c != nil && c.Priority == config.Low {
			n += uint64(len(cs.Members))
		}
	}
	reserve := e.reserve(s.Root.Limit)
	free := s.Root.Free()
	if n == 0 || free <= reserve {
		return 0
	}
	return (free - reserve) / n
}

// reserveHorizon is the HIGH growth a high_growth reserve covers: two
// decisions near contention (100 ms apart), the time within which the
// daemon lowers LOW's caps again once HIGH has grown.
const reserveHorizon = 200 * time.Millisecond

// reserve is the free memory kept for HIGH while memory is contended:
// half the headroom, or (high_growth) what the HIGH classes grew by at
// their fastest over the last Hold, per reserveHorizon, between 1 % of the
// limit and half the headroom. Without two snapshots to measure growth
// by, it is half the headroom.
func (e *Engine) reserve(limit uint64) uint64 {
	half := e.cfg.Detector.Headroom.Of(limit) / 2
	if e.cfg.Detector.Reserve != config.ReserveHighGrowth || len(e.highUsage) < 2 {
		return half
	}
	var rate float64 // bytes per second
	for i := 1; i < len(e.highUsage); i++ {
		a, b := e.highUsage[i-1], e.highUsage[i]
		if dt := b.at.Sub(a.at).Seconds(); dt > 0 && b.bytes > a.bytes {
			rate = max(rate, float64(b.bytes-a.bytes)/dt)
		}
	}
	r := uint64(rate * reserveHorizon.Seconds())
	return min(half, max(r, limit/100))
}

// recordHighUsage remembers the HIGH classes' total usage at s, and
// forgets what is older than Hold.
func (e *Engine) recordHighUsage(s Snapshot) {
	if e.cfg.Detector.Reserve != config.ReserveHighGrowth {
		return
	}
	var total uint64
	for _, cs := range s.Classes {
		if c := e.cfg.Class(cs.Name); c != nil && c.Priority == config.High {
			for _, m := range cs.Members {
				total += m.Usage
			}
		}
	}
	e.highUsage = append(e.highUsage, usageAt{s.Now, total})
	cut := 0
	for cut < len(e.highUsage)-2 && s.Now.Sub(e.highUsage[cut].at) > e.cfg.Detector.Hold.D() {
		cut++
	}
	e.highUsage = e.highUsage[cut:]
}

// highPressure updates and returns a HIGH class's pressure: it starts
// with a trigger while memory is contended, and ends Hold after the last
// trigger.
func (e *Engine) highPressure(cs ClassState, now time.Time, contended bool) bool {
	hold := e.cfg.Detector.Hold.D()
	recent := !cs.LastTrigger.IsZero() && now.Sub(cs.LastTrigger) <= hold
	switch {
	case !e.pressured[cs.Name] && recent && contended:
		e.pressured[cs.Name] = true
	case e.pressured[cs.Name] && !recent:
		e.pressured[cs.Name] = false
	}
	return e.pressured[cs.Name]
}

func (e *Engine) yieldsToPressure(low string, pressured map[string]bool) bool {
	for _, h := range e.yield[low] {
		if pressured[h] {
			return true
		}
	}
	return false
}

// delay is the charge delay for a LOW class (with Means.Delay) while memory is
// contended: the configured delay, scaled by how far free memory has
// fallen into the headroom, and never so short that the kernel ignores
// it. The kernel applies it only while a HIGH class the LOW class yields
// to is under pressure.
func (e *Engine) delay(c *config.Class, root Memory, contended bool) time.Duration {
	if !contended || !e.slowsWithDelay(c) {
		return 0
	}
	d := c.Delay.D()
	if h := e.cfg.Detector.Headroom.Of(root.Limit); h > 0 {
		short := 1 - float64(root.Free())/float64(h)
		d = time.Duration(float64(d) * min(1, max(0, short)))
	}
	return max(d, minDelay)
}

// slowsWithHigh says the class is slowed with a cap: always without the
// delay; with it, unless the class is slowed with the delay alone. The
// delay slows LOW's charges, but only the cap stops LOW from growing into
// an OOM kill of its own once the parent's limit is reached.
func (e *Engine) slowsWithHigh(c *config.Class) bool {
	return !e.means.Delay || c.Slow != config.SlowDelay
}

// slowsWithDelay says the class is slowed through the charge delay.
func (e *Engine) slowsWithDelay(c *config.Class) bool {
	return e.means.Delay && c.Slow != config.SlowHigh
}
