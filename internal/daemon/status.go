package daemon

import (
	"math"
	"strings"
	"time"

	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/policy"
	"github.com/memqos/memqos/internal/status"
)

// Status returns the state as of the last tick. It is safe for
// concurrent use.
func (d *Daemon) Status() status.Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.status
}

// observe updates metrics and status after a tick, and records the
// reaction latency of pressure that just started.
func (d *Daemon) observe(s policy.Snapshot, p policy.Plan) {
	m := d.metrics
	m.rootUsage.Set(float64(s.Root.Usage))
	m.rootLimit.Set(float64(s.Root.Limit))
	m.contended.Set(b2f(p.Contended))
	m.hooks.Set(b2f(p.Hooks))
	if p.Contended {
		m.contendedN.Inc()
	}
	st := status.Status{Backend: d.plugins.backend(), Actuators: strings.Split(d.plugins.names(), ","), Root: d.root.Path(), DryRun: d.opts.DryRun,
		Updated: s.Now, Contended: p.Contended, RootUsage: s.Root.Usage, RootLimit: s.Root.Limit, Knobs: d.knobs.Entries()}
	for _, cs := range s.Classes {
		c := d.cfg.Class(cs.Name)
		cls := status.ClassStatus{Name: c.Name, Priority: c.Priority, Members: []status.MemberStatus{}, Counters: d.plugins.det.Counters(c.Name)}
		if c.Priority == config.High {
			cls.Pressure = p.Pressured[c.Name]
			m.pressure.WithLabelValues(c.Name).Set(b2f(cls.Pressure))
			d.reaction(c.Name, cs.LastTrigger, cls.Pressure)
		} else {
			for _, h := range policy.YieldsTo(d.cfg, c) {
				cls.Slowed = cls.Slowed || p.Pressured[h]
			}
			m.delay.WithLabelValues(c.Name).Set(p.Delay[c.Name].Seconds())
			if p.Delay[c.Name] > 0 {
				cls.Delay = p.Delay[c.Name].String()
			}
		}
		for name, v := range cls.Counters {
			m.backendCount.WithLabelValues(c.Name, name).Set(float64(v))
		}
		for _, mem := range cs.Members {
			ms := status.MemberStatus{Cgroup: mem.Path, Usage: mem.Usage, Frozen: mem.Frozen}
			if dm := d.members[mem.Path]; dm != nil {
				ms.Owner = dm.Owner
			}
			high := math.Inf(1)
			if mem.High != policy.Max {
				h := mem.High
				ms.High, high = &h, float64(h)
			}
			m.usage.WithLabelValues(c.Name, mem.Path).Set(float64(mem.Usage))
			m.high.WithLabelValues(c.Name, mem.Path).Set(high)
			m.protected.WithLabelValues(c.Name, mem.Path).Set(b2f(mem.Frozen))
			cls.Members = append(cls.Members, ms)
		}
		st.Classes = append(st.Classes, cls)
	}
	d.mu.Lock()
	d.status = st
	d.mu.Unlock()
}

// reaction observes, once per pressure episode, the time from the
// trigger that started it to now, when the tick that acted on it has
// carried out its plan.
func (d *Daemon) reaction(class string, trigger time.Time, pressured bool) {
	if !pressured {
		delete(d.onsets, class)
		return
	}
	if _, done := d.onsets[class]; done || trigger.IsZero() {
		return
	}
	d.onsets[class] = trigger
	lat := d.opts.Now().Sub(trigger)
	d.metrics.reacted(class, lat)
	d.log.Info("pressure", "class", class, "event", "onset", "reaction_latency", lat.String())
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
