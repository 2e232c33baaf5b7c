package daemon

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/memqos/memqos/internal/bpf"
	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/policy"
)

// cgroupfsBackend acts through cgroup files (the policy's writes); it
// learns of pressure from the count_memcg_events tracepoint (pgfault), a
// PSI trigger on each HIGH member's memory.pressure (psi), or
// notifications of memory.events of the root and HIGH members (events).
type cgroupfsBackend struct {
	cfg  *config.Config
	src  config.Source
	root *cgroup.Group
	det  *bpf.Detector // pgfault only
	ids  map[string]bpf.ClassID
	trig chan trigger

	mu       sync.Mutex
	last     map[string]time.Time // by class, for psi and events
	watchers map[string]io.Closer // by member path (psi, events); "" for the root
	wg       sync.WaitGroup
}

func newCgroupFS(cfg *config.Config, src config.Source, root *cgroup.Group) (*cgroupfsBackend, error) {
	b := &cgroupfsBackend{cfg: cfg, src: src, root: root, ids: classIDs(cfg), trig: make(chan trigger, 64),
		last: map[string]time.Time{}, watchers: map[string]io.Closer{}}
	switch src {
	case config.SourcePgfault:
		det, err := bpf.NewDetector()
		if err != nil {
			return nil, err
		}
		if err := setClasses(det, cfg, b.ids); err != nil {
			det.Close()
			return nil, err
		}
		b.det = det
		go forwardTriggers(det, cfg, b.trig)
	case config.SourceEvents:
		w, err := root.WatchMemoryEvents()
		if err != nil {
			return nil, fmt.Errorf("watch %s: %w", root.Path(), err)
		}
		b.watchers[""] = w
		b.follow(w.C(), b.highClasses()...)
	}
	return b, nil
}

func (b *cgroupfsBackend) highClasses() []string {
	var out []string
	for _, c := range b.cfg.Classes {
		if c.Priority == config.High {
			out = append(out, c.Name)
		}
	}
	return out
}

func (b *cgroupfsBackend) name() string      { return "cgroupfs (" + string(b.src) + ")" }
func (b *cgroupfsBackend) mode() policy.Mode { return policy.CgroupFS }

func (b *cgroupfsBackend) add(m *member) error {
	if m.class.Priority != config.High {
		return nil
	}
	d := b.cfg.Detector
	switch b.src {
	case config.SourcePgfault:
		return b.det.AddHighCgroup(m.id, b.ids[m.class.Name])
	case config.SourcePSI:
		t, err := m.group.WatchPressure("memory", "some", max(d.Stall.D(), time.Millisecond), d.Window.D())
		if err != nil {
			return err
		}
		b.keep(m.path, t)
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			for at := range t.C() {
				b.fire(m.class.Name, at)
			}
		}()
	case config.SourceEvents:
		w, err := m.group.WatchMemoryEvents()
		if err != nil {
			return err
		}
		b.keep(m.path, w)
		b.follow(w.C(), m.class.Name)
	}
	return nil
}

// follow turns memory.events deltas with high, max or oom events into
// triggers of classes.
func (b *cgroupfsBackend) follow(c <-chan cgroup.MemoryEvents, classes ...string) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for ev := range c {
			if ev.High+ev.Max+ev.OOM == 0 {
				continue
			}
			for _, cl := range classes {
				b.fire(cl, time.Now())
			}
		}
	}()
}

func (b *cgroupfsBackend) keep(path string, c io.Closer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if old := b.watchers[path]; old != nil {
		old.Close()
	}
	b.watchers[path] = c
}

func (b *cgroupfsBackend) fire(class string, at time.Time) {
	b.mu.Lock()
	b.last[class] = at
	b.mu.Unlock()
	select {
	case b.trig <- trigger{class: class, at: at}:
	default:
	}
}

func (b *cgroupfsBackend) remove(m *member) error {
	if b.det != nil && m.class.Priority == config.High {
		return b.det.RemoveHighCgroup(m.id)
	}
	b.mu.Lock()
	w := b.watchers[m.path]
	delete(b.watchers, m.path)
	b.mu.Unlock()
	if w != nil {
		return w.Close()
	}
	return nil
}

func (b *cgroupfsBackend) lift(*member, bool) error { return nil }

func (b *cgroupfsBackend) program(p policy.Plan) error {
	if b.det == nil {
		return nil
	}
	// The tracepoint runs on every memory event of the machine: it is
	// attached only while memory is close to contended.
	errs := []error{b.det.SetAttached(p.Near)}
	for _, c := range b.cfg.Classes {
		if c.Priority == config.High {
			errs = append(errs, b.det.Arm(b.ids[c.Name], p.Arm[c.Name]))
		}
	}
	return errors.Join(errs...)
}

func (b *cgroupfsBackend) lastTrigger(class string) time.Time {
	if b.det != nil {
		return lastBPFTrigger(b.det, b.ids[class])
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last[class]
}

func (b *cgroupfsBackend) triggers() <-chan trigger { return b.trig }

func (b *cgroupfsBackend) counters(class string) map[string]uint64 {
	if b.det == nil {
		return nil
	}
	return bpfCounters(b.det, b.ids[class])
}

func (b *cgroupfsBackend) close() error {
	b.mu.Lock()
	var errs []error
	for p, w := range b.watchers {
		errs = append(errs, w.Close())
		delete(b.watchers, p)
	}
	b.mu.Unlock()
	b.wg.Wait()
	if b.det != nil {
		errs = append(errs, b.det.Close())
	}
	return errors.Join(errs...)
}
