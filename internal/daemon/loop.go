package daemon

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/policy"
)

// rescan finds the members under the root: new ones are governed, gone
// ones dropped.
func (d *Daemon) rescan() error {
	rels, err := scanTree(d.root.Path())
	if err != nil {
		return fmt.Errorf("scan %s: %w", d.root.Path(), err)
	}
	d.retry.Store(false)
	seen := map[string]bool{}
	for _, rel := range rels {
		c := classify(d.cfg, rel)
		if c == nil {
			continue
		}
		p := d.root.Child(rel).Name()
		seen[p] = true
		if m, ok := d.members[p]; ok && m.class.Name == c.Name {
			continue
		}
		if err := d.addMember(p, c); err != nil {
			d.log.Error("govern member; trying again at the next tick", "cgroup", p, "class", c.Name, "err", err)
			d.retry.Store(true)
		}
	}
	for p, m := range d.members {
		if !seen[p] {
			d.dropMember(m, "gone")
		}
	}
	return nil
}

// addMember starts governing the cgroup at p as a member of c: its static
// knobs, then the backend.
func (d *Daemon) addMember(p string, c *config.Class) error {
	if old, ok := d.members[p]; ok {
		d.dropMember(old, "moved to class "+c.Name)
	}
	g := d.opts.FS.Group(p)
	id, err := g.ID()
	if err != nil {
		return err
	}
	m := &member{path: p, class: c, group: g, id: id, added: time.Now()}
	if err := d.staticKnobs(m); err != nil {
		d.knobs.forgetCgroup(p)
		return err
	}
	if err := d.be.add(m); err != nil {
		return err
	}
	d.members[p] = m
	d.metrics.memberAdded(c.Name)
	d.log.Info("member", "event", "added", "cgroup", p, "class", c.Name, "priority", c.Priority)
	return nil
}

// staticKnobs writes the knobs a member keeps while it is governed.
func (d *Daemon) staticKnobs(m *member) error {
	c := m.class
	set := func(file, value string) error {
		return d.knobs.set(m.path, file, value, "class "+c.Name+" static setting")
	}
	var errs []error
	if c.CPUWeight > 0 {
		errs = append(errs, set("cpu.weight", strconv.FormatUint(c.CPUWeight, 10)))
	}
	if c.IOWeight > 0 {
		errs = append(errs, set("io.weight", "default "+strconv.FormatUint(c.IOWeight, 10)))
	}
	if c.MemoryMax.Bytes > 0 {
		errs = append(errs, set(cgroup.MemoryMax, strconv.FormatUint(c.MemoryMax.Bytes, 10)))
	}
	if c.MemoryHigh.Bytes > 0 {
		errs = append(errs, set(cgroup.MemoryHigh, strconv.FormatUint(c.MemoryHigh.Bytes, 10)))
	}
	return errors.Join(errs...)
}

// dropMember stops governing m and restores its knobs (or forgets them,
// if the cgroup is gone).
func (d *Daemon) dropMember(m *member, why string) {
	if err := d.be.remove(m); err != nil {
		d.log.Error("release member", "cgroup", m.path, "err", err)
	}
	for _, e := range d.knobs.journal.Entries() {
		if e.Cgroup == m.path {
			if err := d.knobs.restore(e.Cgroup, e.File, "member "+why); err != nil {
				d.log.Warn("restore member knob", "cgroup", e.Cgroup, "file", e.File, "err", err)
				d.knobs.journal.Forget(e.Cgroup, e.File)
			}
		}
	}
	delete(d.members, m.path)
	d.metrics.memberRemoved(m.class.Name, m.path)
	d.log.Info("member", "event", "removed", "cgroup", m.path, "class", m.class.Name, "why", why)
}

// tick takes a snapshot, decides, and carries out the plan.
func (d *Daemon) tick() policy.Plan {
	s := d.snapshot()
	plan := d.engine.Decide(s)
	d.carryOut(plan)
	d.observe(s, plan)
	return plan
}

// carryOut applies a plan: the backend's gate and delays, knob writes and
// escalation actions. A failure is logged; the next tick tries again.
func (d *Daemon) carryOut(p policy.Plan) {
	if err := d.be.program(p); err != nil {
		d.log.Error("program backend", "err", err)
	}
	for _, w := range p.Writes {
		var err error
		if w.Restore {
			err = d.restoreDynamic(w.Path, w.File, w.Reason)
		} else {
			err = d.knobs.set(w.Path, w.File, limitString(w.Value), w.Reason)
		}
		if err != nil && d.opts.FS.Group(w.Path).Exists() {
			d.log.Error("write knob", "cgroup", w.Path, "file", w.File, "err", err)
		}
	}
	for _, a := range p.Actions {
		d.act(a)
	}
}

// restoreDynamic undoes the policy's change of a member's knob: back to
// the class's static memory.high if it has one, else to the original.
func (d *Daemon) restoreDynamic(path, file, reason string) error {
	if m := d.members[path]; m != nil && file == cgroup.MemoryHigh && m.class.MemoryHigh.Bytes > 0 {
		return d.knobs.set(path, file, strconv.FormatUint(m.class.MemoryHigh.Bytes, 10), reason)
	}
	return d.knobs.restore(path, file, reason)
}

func limitString(v uint64) string {
	if v == policy.Max {
		return "max"
	}
	return strconv.FormatUint(v, 10)
}

// act carries out an escalation action.
func (d *Daemon) act(a policy.Action) {
	m := d.members[a.Path]
	if m == nil {
		return
	}
	d.log.Warn("decision", "action", string(a.Kind), "cgroup", a.Path, "class", m.class.Name, "reason", a.Reason, "dry_run", d.opts.DryRun)
	d.metrics.escalation(m.class.Name, string(a.Kind))
	var err error
	switch a.Kind {
	case policy.Lift:
		err = errors.Join(d.restoreDynamic(a.Path, cgroup.MemoryHigh, a.Reason), d.liftOps(m, true))
	case policy.Unlift:
		err = d.liftOps(m, false)
	case policy.Freeze:
		err = d.knobs.set(a.Path, "cgroup.freeze", "1", a.Reason)
	case policy.Thaw:
		err = d.knobs.restore(a.Path, "cgroup.freeze", a.Reason)
	case policy.Kill:
		if !d.opts.DryRun {
			err = m.group.Set("cgroup.kill", "1")
		}
	}
	if err != nil {
		d.log.Error("escalation", "action", string(a.Kind), "cgroup", a.Path, "err", err)
	}
}

func (d *Daemon) liftOps(m *member, on bool) error {
	if d.opts.DryRun {
		return nil
	}
	return d.be.lift(m, on)
}
