// Package memcgbpf is memqos's BPF object programmed with one
// configuration's classes: the count_memcg_events detector and the maps
// that the memcg_bpf_ops programs share with it. The pgfault detector
// (internal/detect) and the memcg_bpf_ops actuator (internal/actuate) use
// one Object between them, so that the kernel's protection and delay
// follow the pressure the detector sees.
package memcgbpf

import (
	"fmt"
	"slices"
	"time"

	"github.com/memqos/memqos/internal/bpf"
	"github.com/memqos/memqos/internal/config"
)

// Object is the loaded detector with the classes of a configuration.
// Its methods are safe for concurrent use, as bpf.Detector's are.
type Object struct {
	Det *bpf.Detector
	cfg *config.Config
	ids map[string]bpf.ClassID
}

// Open loads the detector and programs every class's static policy. It
// needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN), kernel BTF and the
// memcg:count_memcg_events tracepoint.
func Open(cfg *config.Config) (*Object, error) {
	det, err := bpf.NewDetector()
	if err != nil {
		return nil, err
	}
	o := &Object{Det: det, cfg: cfg, ids: ClassIDs(cfg)}
	for _, c := range cfg.Classes {
		if c.Priority == config.High {
			err = det.SetHigh(o.ids[c.Name], bpf.HighConfig{
				Threshold: cfg.Detector.Threshold, Window: cfg.Detector.Window.D(), Hold: cfg.Detector.Hold.D(),
				ProtectLow: c.Protect == config.ProtectLow, ProtectMin: c.Protect == config.ProtectMin,
				RequireArmed: !cfg.Detector.Headroom.IsZero() && cfg.Detector.Headroom.Of(1<<62) > 0,
			})
		} else {
			err = det.SetLow(o.ids[c.Name], bpf.LowConfig{YieldsTo: o.YieldIDs(&c)})
		}
		if err != nil {
			det.Close()
			return nil, fmt.Errorf("class %s: %w", c.Name, err)
		}
	}
	return o, nil
}

// ClassIDs numbers the classes for the BPF maps, in configuration order.
func ClassIDs(cfg *config.Config) map[string]bpf.ClassID {
	ids := map[string]bpf.ClassID{}
	for i, c := range cfg.Classes {
		ids[c.Name] = bpf.ClassID(i + 1)
	}
	return ids
}

// ID returns the BPF id of a class.
func (o *Object) ID(class string) bpf.ClassID { return o.ids[class] }

// Classes returns the configuration's classes.
func (o *Object) Classes() []config.Class { return o.cfg.Classes }

// YieldIDs returns the ids of the HIGH classes the LOW class c yields to.
func (o *Object) YieldIDs(c *config.Class) []bpf.ClassID {
	var out []bpf.ClassID
	for _, h := range o.cfg.Classes {
		if h.Priority == config.High && (len(c.YieldsTo) == 0 || slices.Contains(c.YieldsTo, h.Name)) {
			out = append(out, o.ids[h.Name])
		}
	}
	return out
}

// Names returns the class names by BPF id.
func (o *Object) Names() map[bpf.ClassID]string {
	names := map[bpf.ClassID]string{}
	for n, id := range o.ids {
		names[id] = n
	}
	return names
}

// LastTrigger is when the detector last reported pressure in a HIGH
// class, in wall time; zero if never.
func (o *Object) LastTrigger(class string) time.Time {
	p, err := o.Det.Pressure(o.ids[class])
	if err != nil {
		return time.Time{}
	}
	return MonoToWall(p.LastTrigger)
}

// Counters returns the BPF counters of a class, by name.
func (o *Object) Counters(class string) map[string]uint64 {
	c, err := o.Det.Counters(o.ids[class])
	if err != nil {
		return nil
	}
	return map[string]uint64{
		"high_faults": c.HighFaults, "triggers": c.Triggers,
		"below_low_calls": c.BelowLowCalls, "below_low_active": c.BelowLowActive,
		"below_min_calls": c.BelowMinCalls, "below_min_active": c.BelowMinActive,
		"delay_calls": c.DelayCalls, "delay_active": c.DelayActive, "delay_ms_total": c.DelayMsTotal,
		"lease_expired": c.LeaseExpired,
	}
}

// Close unloads the detector and its maps.
func (o *Object) Close() error { return o.Det.Close() }

// MonoToWall converts a CLOCK_MONOTONIC instant to wall time.
func MonoToWall(t time.Duration) time.Time {
	if t == 0 {
		return time.Time{}
	}
	now, err := bpf.Monotonic()
	if err != nil {
		return time.Time{}
	}
	return time.Now().Add(t - now)
}
