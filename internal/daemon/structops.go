package daemon

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/memqos/memqos/internal/bpf"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/policy"
)

// classIDs numbers the classes for the BPF maps, in configuration order.
func classIDs(cfg *config.Config) map[string]bpf.ClassID {
	ids := map[string]bpf.ClassID{}
	for i, c := range cfg.Classes {
		ids[c.Name] = bpf.ClassID(i + 1)
	}
	return ids
}

// setClasses programs every class's static policy into the detector.
func setClasses(det *bpf.Detector, cfg *config.Config, ids map[string]bpf.ClassID) error {
	for _, c := range cfg.Classes {
		var err error
		if c.Priority == config.High {
			err = det.SetHigh(ids[c.Name], bpf.HighConfig{
				Threshold: cfg.Detector.Threshold, Window: cfg.Detector.Window.D(), Hold: cfg.Detector.Hold.D(),
				ProtectLow: c.Protect == config.ProtectLow, ProtectMin: c.Protect == config.ProtectMin,
				RequireArmed: !cfg.Detector.Headroom.IsZero() && cfg.Detector.Headroom.Of(1<<62) > 0,
			})
		} else {
			err = det.SetLow(ids[c.Name], bpf.LowConfig{YieldsTo: yieldIDs(cfg, &c, ids)})
		}
		if err != nil {
			return fmt.Errorf("class %s: %w", c.Name, err)
		}
	}
	return nil
}

func yieldIDs(cfg *config.Config, c *config.Class, ids map[string]bpf.ClassID) []bpf.ClassID {
	var out []bpf.ClassID
	for _, h := range cfg.Classes {
		if h.Priority == config.High && (len(c.YieldsTo) == 0 || slices.Contains(c.YieldsTo, h.Name)) {
			out = append(out, ids[h.Name])
		}
	}
	return out
}

// monoToWall converts a CLOCK_MONOTONIC instant to wall time.
func monoToWall(t time.Duration) time.Time {
	if t == 0 {
		return time.Time{}
	}
	now, err := bpf.Monotonic()
	if err != nil {
		return time.Time{}
	}
	return time.Now().Add(t - now)
}

// structopsBackend acts in the kernel through memcg_bpf_ops: one
// attachment per member, HIGH classes protected and LOW classes delayed
// by the BPF programs, pressure counted from page faults.
type structopsBackend struct {
	cfg    *config.Config
	det    *bpf.Detector
	ids    map[string]bpf.ClassID
	links  map[string]*bpf.Attachment // by member path
	lifted map[string]*member
	delays map[string]time.Duration
	trig   chan trigger
}

func newStructOps(cfg *config.Config) (*structopsBackend, error) {
	det, err := bpf.NewDetector()
	if err != nil {
		return nil, err
	}
	b := &structopsBackend{cfg: cfg, det: det, ids: classIDs(cfg), links: map[string]*bpf.Attachment{},
		lifted: map[string]*member{}, delays: map[string]time.Duration{}, trig: make(chan trigger, 64)}
	if err := errors.Join(setClasses(det, cfg, b.ids), det.SetLease(cfg.Lease.D())); err != nil {
		det.Close()
		return nil, err
	}
	go forwardTriggers(det, cfg, b.trig)
	return b, nil
}

// forwardTriggers turns the detector's ring-buffer events into triggers.
func forwardTriggers(det *bpf.Detector, cfg *config.Config, out chan<- trigger) {
	names := map[bpf.ClassID]string{}
	for n, id := range classIDs(cfg) {
		names[id] = n
	}
	for t := range det.Triggers() {
		select {
		case out <- trigger{class: names[t.Class], at: monoToWall(t.At)}:
		default:
		}
	}
}

func (b *structopsBackend) name() string      { return "structops (pgfault)" }
func (b *structopsBackend) mode() policy.Mode { return policy.StructOps }

func (b *structopsBackend) add(m *member) error {
	if err := b.attach(m); err != nil {
		return err
	}
	if m.class.Priority == config.High {
		return b.det.AddHighCgroup(m.id, b.ids[m.class.Name])
	}
	return nil
}

func (b *structopsBackend) attach(m *member) error {
	dir, err := m.group.OpenDir()
	if err != nil {
		return err
	}
	defer dir.Close()
	role := bpf.Low
	if m.class.Priority == config.High {
		role = bpf.High
	}
	// Loading a member's ops can take seconds (4.8 s seen under TCG), and
	// the loop renews no lease meanwhile: the attach has a grace.
	defer b.det.SetLease(b.cfg.Lease.D())
	if err := b.det.SetLease(b.cfg.Lease.D() + attachGrace); err != nil {
		return err
	}
	a, err := b.det.Attach(role, b.ids[m.class.Name], dir, 0)
	if err != nil {
		return err
	}
	b.links[m.path] = a
	return nil
}

// remove detaches m's ops; for a member already removed, the detach finds
// the link gone, which is not an error.
func (b *structopsBackend) remove(m *member) error {
	var err error
	if a := b.links[m.path]; a != nil {
		err = a.Close()
		delete(b.links, m.path)
	}
	delete(b.lifted, m.path)
	if m.class.Priority == config.High {
		err = errors.Join(err, b.det.RemoveHighCgroup(m.id))
	}
	return err
}

func (b *structopsBackend) lift(m *member, on bool) error {
	if on {
		a := b.links[m.path]
		if a == nil {
			return nil
		}
		delete(b.links, m.path)
		b.lifted[m.path] = m
		return a.Close()
	}
	if _, ok := b.lifted[m.path]; !ok {
		return nil
	}
	delete(b.lifted, m.path)
	return b.attach(m)
}

func (b *structopsBackend) program(p policy.Plan) error {
	// The tracepoint runs on every memory event of the machine: it is
	// attached only while memory is close to contended.
	errs := []error{b.det.SetAttached(p.Near)}
	for _, c := range b.cfg.Classes {
		id := b.ids[c.Name]
		if c.Priority == config.High {
			errs = append(errs, b.det.Arm(id, p.Arm[c.Name]))
			continue
		}
		if d, ok := b.delays[c.Name]; ok && d == p.Delay[c.Name] {
			continue
		}
		err := b.det.SetLow(id, bpf.LowConfig{Delay: p.Delay[c.Name], YieldsTo: yieldIDs(b.cfg, &c, b.ids)})
		if err == nil {
			b.delays[c.Name] = p.Delay[c.Name]
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (b *structopsBackend) lastTrigger(class string) time.Time {
	return lastBPFTrigger(b.det, b.ids[class])
}

func lastBPFTrigger(det *bpf.Detector, id bpf.ClassID) time.Time {
	p, err := det.Pressure(id)
	if err != nil {
		return time.Time{}
	}
	return monoToWall(p.LastTrigger)
}

func (b *structopsBackend) triggers() <-chan trigger { return b.trig }

func (b *structopsBackend) counters(class string) map[string]uint64 {
	return bpfCounters(b.det, b.ids[class])
}

func bpfCounters(det *bpf.Detector, id bpf.ClassID) map[string]uint64 {
	c, err := det.Counters(id)
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

func (b *structopsBackend) close() error {
	var errs []error
	for p, a := range b.links {
		errs = append(errs, a.Close())
		delete(b.links, p)
	}
	return errors.Join(append(errs, b.det.Close())...)
}
