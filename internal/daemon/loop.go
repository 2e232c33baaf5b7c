package daemon

import (
	"errors"
	"os"
	"slices"
	"strconv"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/govern"
	"github.com/memqos/memqos/internal/policy"
)

// reconcile makes the members those the source wants: new ones are
// governed, gone ones dropped. A member that cannot be governed is tried
// again at the next tick.
func (d *Daemon) reconcile() {
	want, missing := d.src.wanted()
	retry := missing
	for p, w := range want {
		if m, ok := d.members[p]; ok && m.Class.Name == w.class.Name {
			m.Owner = w.owner
			continue
		}
		d.heartbeat() // adding a member can take a while: attaching ops loads programs
		d.heartbeat() // adding a member can take a while: attaching ops loads programs
		if err := d.addMember(p, w.class, w.owner); err != nil {
			d.log.Error("govern member; trying again at the next tick", "cgroup", p, "class", w.class.Name, "owner", w.owner, "err", err)
			retry = true
		}
	}
	for p, m := range d.members {
		if _, ok := want[p]; !ok {
			d.dropMember(m, "gone")
		}
	}
	d.retry.Store(retry)
}

// addMember starts governing the cgroup at p as a member of c: its static
// knobs, then the detector and the actuators.
func (d *Daemon) addMember(p string, c *config.Class, owner string) error {
	if old, ok := d.members[p]; ok {
		d.dropMember(old, "moved to class "+c.Name)
	}
	g := d.opts.FS.Group(p)
	id, err := g.ID()
	if err != nil {
		return err
	}
	m := &govern.Member{Path: p, Class: c, Group: g, ID: id, Added: d.opts.Now(), Owner: owner}
	if err := d.setStatic(m); err != nil {
		return errors.Join(err, d.knobs.ForgetGone(p))
	}
	if err := d.plugins.det.Add(m); err != nil {
		return err
	}
	for i, a := range d.plugins.acts {
		if err := a.Add(m); err != nil {
			for _, done := range slices.Backward(d.plugins.acts[:i]) {
				done.Remove(m)
			}
			return errors.Join(err, d.plugins.det.Remove(m))
		}
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
		ks = append(ks, staticKnob{cgroup.CPUWeight, strconv.FormatUint(c.CPUWeight, 10), true})
	}
	if c.IOWeight > 0 {
		ks = append(ks, staticKnob{cgroup.IOWeight, "default " + strconv.FormatUint(c.IOWeight, 10), true})
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
func (d *Daemon) setStatic(m *govern.Member) error {
	var errs []error
	for _, k := range staticKnobs(m.Class) {
		errs = append(errs, d.knobs.Set(m.Path, k.file, k.value, "class "+m.Class.Name+" static setting"))
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
	for _, m := range d.members {
		for _, k := range staticKnobs(m.Class) {
			if !k.held {
				continue
			}
			cur, err := d.knobs.Read(m.Group, k.file)
			if err != nil {
				// The member is going (the next scan drops it), or the
				// file holds nothing restorable: try at the next tick.
				continue
			}
			if sameKnob(k.file, cur, k.value) {
				continue
			}
			if err := d.knobs.Reassert(m.Path, k.file, k.value, cur, "class "+m.Class.Name+" static setting, changed from outside"); err != nil {
				d.log.Error("reassert static knob", "cgroup", m.Path, "file", k.file, "err", err)
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

// release stops the detector and the actuators acting on m.
func (d *Daemon) release(m *govern.Member) error {
	errs := []error{d.plugins.det.Remove(m)}
	for _, a := range slices.Backward(d.plugins.acts) {
		errs = append(errs, a.Remove(m))
	}
	return errors.Join(errs...)
}

// dropMember stops governing m and restores its knobs (or forgets them,
// if the cgroup is gone).
func (d *Daemon) dropMember(m *govern.Member, why string) {
	if err := d.release(m); err != nil {
		d.log.Error("release member", "cgroup", m.Path, "err", err)
	}
	for _, e := range d.knobs.Entries() {
		if e.Cgroup == m.Path {
			if err := d.knobs.Restore(e.Cgroup, e.File, "member "+why); err != nil {
				d.log.Warn("restore member knob", "cgroup", e.Cgroup, "file", e.File, "err", err)
				d.logErr("forget member knob", d.knobs.Forget(e.Cgroup, e.File), "cgroup", e.Cgroup, "file", e.File)
			}
		}
	}
	delete(d.members, m.Path)
	d.metrics.memberRemoved(m.Class.Name, m.Path)
	d.log.Info("member", "event", "removed", "cgroup", m.Path, "class", m.Class.Name, "why", why, "owner", m.Owner)
}

// tick takes a snapshot, decides, and carries out the plan.
func (d *Daemon) tick() policy.Plan {
	d.heartbeat()
	d.reassert()
	s := d.snapshot()
	plan := d.pol.Decide(s)
	d.carryOut(plan)
	d.observe(s, plan)
	return plan
}

// carryOut has the plan carried out: the detector's gate, then each
// actuator's part. A failure is logged; the next tick tries again.
func (d *Daemon) carryOut(p policy.Plan) {
	if p.Hooks != d.hooks && d.plugins.means != (policy.Means{}) {
		d.log.Info("decision", "action", "kernel hooks", "in_place", p.Hooks, "near", p.Near, "dry_run", d.opts.DryRun)
	}
	d.hooks = p.Hooks
	if err := d.plugins.det.Gate(p.Near, p.Arm); err != nil {
		d.log.Error("detector gate", "detector", d.plugins.det.Name(), "err", err)
	}
	for _, in := range p.Intents {
		if m := d.members[in.Path]; m != nil && slices.Contains(policy.Escalations, in.Kind) {
			d.log.Warn("decision", "action", string(in.Kind), "cgroup", in.Path, "class", m.Class.Name, "reason", in.Reason, "dry_run", d.opts.DryRun)
			d.metrics.escalation(m.Class.Name, string(in.Kind))
		}
	}
	for _, a := range d.plugins.acts {
		if err := a.Apply(p, d.members); err != nil {
			d.log.Error("carry out the plan", "actuator", a.Name(), "err", err)
		}
	}
}
