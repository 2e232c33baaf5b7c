package daemon

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/policy"
)

// rescan finds the members: new ones are governed, gone ones dropped.
// They are the cgroups under the root that match a class's patterns or,
// in the NRI mode, the cgroups assigned to classes.
func (d *Daemon) rescan() error {
	want, err := d.wanted()
	if err != nil {
		return err
	}
	for p, w := range want {
		if m, ok := d.members[p]; ok && m.class.Name == w.class.Name {
			m.owner = w.owner
			continue
		}
		d.heartbeat() // adding a member can take a while: attaching ops loads programs
		if err := d.addMember(p, w.class, w.owner); err != nil {
			d.log.Error("govern member; trying again at the next tick", "cgroup", p, "class", w.class.Name, "owner", w.owner, "err", err)
			d.retry.Store(true)
		}
	}
	for p, m := range d.members {
		if _, ok := want[p]; !ok {
			d.dropMember(m, "gone")
		}
	}
	return nil
}

// want is a cgroup's class, and whose cgroup it is.
type want struct {
	class *config.Class
	owner string
}

// wanted returns the cgroups that should be members now, by path.
func (d *Daemon) wanted() (map[string]want, error) {
	if d.external() {
		out, missing := d.wantedAssigned()
		d.retry.Store(missing)
		return out, nil
	}
	out := map[string]want{}
	rels, err := scanTree(d.root.Path())
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", d.root.Path(), err)
	}
	d.retry.Store(false)
	for _, rel := range rels {
		if c := classify(d.cfg, rel); c != nil {
			out[d.root.Child(rel).Name()] = want{class: c}
		}
	}
	return out, nil
}

// addMember starts governing the cgroup at p as a member of c: its static
// knobs, then the backend.
func (d *Daemon) addMember(p string, c *config.Class, owner string) error {
	if old, ok := d.members[p]; ok {
		d.dropMember(old, "moved to class "+c.Name)
	}
	g := d.opts.FS.Group(p)
	id, err := g.ID()
	if err != nil {
		return err
	}
	m := &member{path: p, class: c, group: g, id: id, added: time.Now(), owner: owner}
	if err := d.setStatic(m); err != nil {
		d.knobs.forgetCgroup(p)
		return err
	}
	if err := d.be.add(m); err != nil {
		return err
	}
	d.members[p] = m
	d.metrics.memberAdded(c.Name)
	d.log.Info("member", "event", "added", "cgroup", p, "class", c.Name, "priority", c.Priority, "owner", owner)
	return nil
}

// staticKnob is a knob a member keeps while it is governed.
type staticKnob struct {
	file, value string
	// held: memqos writes the value again if something else changes it
	// (see reassert). memory.high is not held: the LOW cap moves it.
	held bool
}

// staticKnobs returns the knobs members of c keep while governed.
func staticKnobs(c *config.Class) []staticKnob {
	var ks []staticKnob
	if c.CPUWeight > 0 {
		ks = append(ks, staticKnob{"cpu.weight", strconv.FormatUint(c.CPUWeight, 10), true})
	}
	if c.IOWeight > 0 {
		ks = append(ks, staticKnob{"io.weight", "default " + strconv.FormatUint(c.IOWeight, 10), true})
	}
	if c.MemoryMax.Bytes > 0 {
		ks = append(ks, staticKnob{cgroup.MemoryMax, strconv.FormatUint(c.MemoryMax.Bytes, 10), true})
	}
	if c.MemoryHigh.Bytes > 0 {
		ks = append(ks, staticKnob{cgroup.MemoryHigh, strconv.FormatUint(c.MemoryHigh.Bytes, 10), false})
	}
	return ks
}

// setStatic writes the knobs a member keeps while it is governed.
func (d *Daemon) setStatic(m *member) error {
	var errs []error
	for _, k := range staticKnobs(m.class) {
		errs = append(errs, d.knobs.set(m.path, k.file, k.value, "class "+m.class.Name+" static setting"))
	}
	return errors.Join(errs...)
}

// reassert writes again each held static knob of each member that
// something outside memqos changed: a container runtime that applies a
// container's limits after memqos governed its new group (crun writing
// podman's --memory), or podman update. The class's setting wins while
// the cgroup is a member; the outside value becomes the one restored when
// it stops being one.
func (d *Daemon) reassert() {
	if d.knobs.dry {
		return // nothing was written, so nothing is held
	}
	for _, m := range d.members {
		for _, k := range staticKnobs(m.class) {
			if !k.held {
				continue
			}
			cur, err := readOriginal(m.group, k.file)
			if err != nil {
				// The member is going (the next scan drops it), or the
				// file holds nothing restorable: try at the next tick.
				continue
			}
			if sameKnob(k.file, cur, k.value) {
				continue
			}
			if err := d.knobs.reassert(m.path, k.file, k.value, cur, "class "+m.class.Name+" static setting, changed from outside"); err != nil {
				d.log.Error("reassert static knob", "cgroup", m.path, "file", k.file, "err", err)
			}
		}
	}
}

// sameKnob reports whether file, read as cur, holds what writing want
// gave: the kernel rounds memory sizes down to whole pages.
func sameKnob(file, cur, want string) bool {
	if cur == want {
		return true
	}
	if file != cgroup.MemoryMax {
		return false
	}
	c, err1 := strconv.ParseUint(cur, 10, 64)
	w, err2 := strconv.ParseUint(want, 10, 64)
	page := uint64(os.Getpagesize())
	return err1 == nil && err2 == nil && c == w/page*page
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
	d.log.Info("member", "event", "removed", "cgroup", m.path, "class", m.class.Name, "why", why, "owner", m.owner)
}

// tick takes a snapshot, decides, and carries out the plan.
func (d *Daemon) tick() policy.Plan {
	d.heartbeat()
	d.reassert()
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
