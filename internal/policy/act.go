package policy

import (
	"fmt"
	"time"

	"github.com/memqos/memqos/internal/config"
)

// protect raises each member's memory.low (or memory.min) of a pressured
// HIGH class to cover its usage (CgroupFS), and restores it once the
// class's pressure has ended.
func (e *Engine) protect(p *Plan, c *config.Class, cs ClassState, pressured bool) {
	file := protectFile(c.Protect)
	if file == "" {
		return
	}
	for _, m := range cs.Members {
		written, ok := e.prot[m.Path]
		switch {
		case pressured && (!ok || m.Usage > written):
			e.prot[m.Path] = m.Usage
			p.Writes = append(p.Writes, Write{Path: m.Path, File: file, Value: m.Usage,
				Reason: fmt.Sprintf("HIGH class %s under pressure: protect its usage", c.Name)})
		case !pressured && ok:
			delete(e.prot, m.Path)
			p.Writes = append(p.Writes, Write{Path: m.Path, File: file, Restore: true,
				Reason: fmt.Sprintf("HIGH class %s no longer under pressure", c.Name)})
		}
	}
}

func protectFile(p config.Protect) string {
	switch p {
	case config.ProtectLow:
		return "memory.low"
	case config.ProtectMin:
		return "memory.min"
	}
	return ""
}

// slowLow throttles a LOW class's members while a HIGH class it yields to
// is under pressure, escalates members that stall, and undoes both when
// the pressure ends.
func (e *Engine) slowLow(p *Plan, c *config.Class, cs ClassState, s Snapshot, active bool) {
	for _, m := range cs.Members {
		st := e.low[m.Path]
		if st == nil {
			st = &memberState{}
			e.low[m.Path] = st
		}
		if !active {
			e.release(p, c, m, st)
			continue
		}
		if st.exempt {
			continue
		}
		if e.slowsWithHigh(c) || m.AnonTHP > 0 {
			// THP faults are never delayed; memory.high reaches them.
			e.lowerHigh(p, c, m, st, s.Root)
		}
		if !e.slowsWithHigh(c) && p.Delay[c.Name] > 0 {
			st.throttled = true
		}
		e.escalate(p, c, m, st, s)
	}
}

// lowerHigh moves a member's memory.high toward its usage, by at most a
// step, never below the floor.
func (e *Engine) lowerHigh(p *Plan, c *config.Class, m Member, st *memberState, root Memory) {
	cur := m.High
	if cur == Max || cur > root.Limit {
		cur = root.Limit
	}
	target := max(c.Floor.Bytes, m.Usage)
	next := target
	if step := c.Step.Bytes; step > 0 && cur > target+step {
		next = cur - step
	}
	if next >= m.High {
		return // already at or below where memqos would put it
	}
	st.throttled, st.highLowered = true, true
	p.Writes = append(p.Writes, Write{Path: m.Path, File: "memory.high", Value: next,
		Reason: fmt.Sprintf("LOW class %s yields to pressure: lower toward usage %d, floor %d%s", c.Name, m.Usage, c.Floor.Bytes, thpNote(m))})
}

// release undoes the throttle and any escalation of a member once no
// HIGH class it yields to is under pressure.
func (e *Engine) release(p *Plan, c *config.Class, m Member, st *memberState) {
	reason := fmt.Sprintf("no HIGH class that LOW class %s yields to is under pressure", c.Name)
	if st.highLowered && !st.exempt {
		p.Writes = append(p.Writes, Write{Path: m.Path, File: "memory.high", Restore: true, Reason: reason})
	}
	switch {
	case st.frozen:
		p.Actions = append(p.Actions, Action{Path: m.Path, Kind: Thaw, Reason: reason})
	case st.lifted:
		p.Actions = append(p.Actions, Action{Path: m.Path, Kind: Unlift, Reason: reason})
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
		p.Actions = append(p.Actions, Action{Path: m.Path, Kind: Freeze, Reason: reason})
	case config.ActionKill:
		p.Actions = append(p.Actions, Action{Path: m.Path, Kind: Kill, Reason: reason})
	default:
		st.lifted = true
		p.Actions = append(p.Actions, Action{Path: m.Path, Kind: Lift, Reason: reason})
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
