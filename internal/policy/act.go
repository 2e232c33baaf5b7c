package policy

import (
	"fmt"
	"time"

	"github.com/memqos/memqos/internal/config"
)

// protect raises the protection of each member of a pressured HIGH class
// to cover its usage (without Means.KernelProtect), and gives it back once
// the class's pressure has ended. A member whose own protection (Reserved)
// already covers its usage is left alone: memqos never lowers it.
func (e *Engine) protect(p *Plan, c *config.Class, cs ClassState, pressured bool) {
	if c.Protect != config.ProtectLow && c.Protect != config.ProtectMin {
		return
	}
	for _, m := range cs.Members {
		written, ok := e.prot[m.Path]
		switch {
		case pressured && m.Usage > m.Reserved && (!ok || m.Usage > written):
			e.prot[m.Path] = m.Usage
			p.Intents = append(p.Intents, Intent{Kind: Protect, Path: m.Path, Bytes: m.Usage,
				Reason: fmt.Sprintf("HIGH class %s under pressure: protect its usage", c.Name)})
		case !pressured && ok:
			delete(e.prot, m.Path)
			p.Intents = append(p.Intents, Intent{Kind: Unprotect, Path: m.Path,
				Reason: fmt.Sprintf("HIGH class %s no longer under pressure", c.Name)})
		}
	}
}

// lowState is why a LOW class is slowed now.
type lowState struct {
	// squeeze: memory under the root is contended, or was within Hold.
	squeeze bool
	// yield: a HIGH class the LOW class yields to is under pressure.
	yield bool
	// share is what each LOW member may grow by while squeezed.
	share uint64
}

// slowLow throttles a LOW class's members while memory is contended or a
// HIGH class it yields to is under pressure, escalates members that
// stall, and undoes both when neither holds any more.
func (e *Engine) slowLow(p *Plan, c *config.Class, cs ClassState, s Snapshot, why lowState) {
	for _, m := range cs.Members {
		st := e.low[m.Path]
		if st == nil {
			st = &memberState{}
			e.low[m.Path] = st
		}
		if !why.squeeze && !why.yield {
			e.release(p, c, m, st)
			continue
		}
		if st.exempt {
			continue
		}
		if e.slowsWithHigh(c) || m.AnonTHP > 0 {
			// THP faults are never delayed; memory.high reaches them.
			e.capHigh(p, c, m, st, why)
		}
		if p.Delay[c.Name] > 0 {
			st.throttled = true
		}
		e.escalate(p, c, m, st, s)
	}
}

// capHigh sets a member's memory.high, never below the floor. While a
// HIGH class it yields to is under pressure, the cap is its usage: it
// only comes down, so what memory is left is HIGH's. While memory is
// merely contended, the cap is its usage plus its share of the free memory
// above HIGH's reserve, recomputed at every decision: LOW keeps growing
// into memory nobody else needs, and is throttled by the kernel, not
// OOM-killed, when it would grow into the parent's limit. That cap is
// raised only by more than a step at a time, so that it is not rewritten
// at every decision.
func (e *Engine) capHigh(p *Plan, c *config.Class, m Member, st *memberState, why lowState) {
	next, reason := max(c.Floor.Bytes, m.Usage+why.share), "memory is contended: cap at usage %d plus its share of the free memory"
	if why.yield {
		next, reason = max(c.Floor.Bytes, m.Usage), "a HIGH class it yields to is under pressure: cap at usage %d"
	}
	switch {
	case next < m.High: // lower it (Max is above every value)
	case !why.yield && m.High != Max && next > m.High+c.Step.Bytes: // raise it
	default:
		return
	}
	st.throttled, st.highLowered = true, true
	p.Intents = append(p.Intents, Intent{Kind: Cap, Path: m.Path, Bytes: next,
		Reason: fmt.Sprintf("LOW class %s: "+reason+", floor %d%s", c.Name, m.Usage, c.Floor.Bytes, thpNote(m))})
}

// release undoes the throttle and any escalation of a member once no
// HIGH class it yields to is under pressure.
func (e *Engine) release(p *Plan, c *config.Class, m Member, st *memberState) {
	reason := fmt.Sprintf("memory is no longer contended and no HIGH class that LOW class %s yields to is under pressure", c.Name)
	if st.highLowered && !st.exempt {
		p.Intents = append(p.Intents, Intent{Kind: Uncap, Path: m.Path, Reason: reason})
	}
	switch {
	case st.frozen:
		p.Intents = append(p.Intents, Intent{Kind: Thaw, Path: m.Path, Reason: reason})
	case st.lifted:
		p.Intents = append(p.Intents, Intent{Kind: Unlift, Path: m.Path, Reason: reason})
	}
	*st = memberState{}
}

// escalate tracks how long a throttled member has made no progress (it
// spent at least half of the time between snapshots stalled on memory)
// and, past the class's deadline, takes the escalation action.
func (e *Engine) escalate(p *Plan, c *config.Class, m Member, st *memberState, s Snapshot) {
	prev, dt := e.prevMember(m.Path, s.Now)
	if !st.throttled || prev == nil || dt <= 0 {
		return
	}
	if stall := m.MemStall - prev.MemStall; float64(stall) >= stalledShare*float64(dt) {
		st.stalled += dt
	} else {
		st.stalled = 0
	}
	after := c.Escalation.After.D()
	if after <= 0 || st.stalled < after {
		return
	}
	reason := fmt.Sprintf("throttled without progress for %v (deadline %v)", st.stalled.Round(time.Millisecond), after)
	st.exempt = true
	switch c.Escalation.Action {
	case config.ActionFreeze:
		st.frozen = true
		p.Intents = append(p.Intents, Intent{Kind: Freeze, Path: m.Path, Reason: reason})
	case config.ActionKill:
		p.Intents = append(p.Intents, Intent{Kind: Kill, Path: m.Path, Reason: reason})
	default:
		st.lifted = true
		p.Intents = append(p.Intents, Intent{Kind: Lift, Path: m.Path, Reason: reason})
	}
}

// prevMember returns the member at path in the previous snapshot, and
// the time since it.
func (e *Engine) prevMember(path string, now time.Time) (*Member, time.Duration) {
	if e.prev == nil {
		return nil, 0
	}
	for _, cs := range e.prev.Classes {
		for i := range cs.Members {
			if cs.Members[i].Path == path {
				return &cs.Members[i], now.Sub(e.prev.Now)
			}
		}
	}
	return nil, 0
}

// forgetGone drops what the engine remembers of members that are gone.
func (e *Engine) forgetGone(s Snapshot) {
	present := map[string]bool{}
	for _, cs := range s.Classes {
		for _, m := range cs.Members {
			present[m.Path] = true
		}
	}
	for p := range e.low {
		if !present[p] {
			delete(e.low, p)
		}
	}
	for p := range e.prot {
		if !present[p] {
			delete(e.prot, p)
		}
	}
}

func thpNote(m Member) string {
	if m.AnonTHP == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d bytes of THP, which the delay does not reach)", m.AnonTHP)
}
