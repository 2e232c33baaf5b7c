// Package detect holds memqos's pressure detectors (govern.Detector):
// pgfault counts HIGH members' page faults with a BPF program on the
// memcg:count_memcg_events tracepoint, psi arms a PSI trigger on each HIGH
// member's memory.pressure, and events follows memory.events of the root
// and of HIGH members. The daemon picks one of them from the host's probe
// and the configuration.
package detect

import (
	"errors"
	"io"
	"sync"
	"time"

	"github.com/memqos/memqos/internal/govern"
)

// reports is what the file-based detectors share: the last trigger of
// each class, the channel that wakes the loop, and the watchers and
// goroutines of each member.
type reports struct {
	trig chan govern.Trigger

	mu       sync.Mutex
	last     map[string]time.Time // by class
	watchers map[string]io.Closer // by member path; "" for the root
	wg       sync.WaitGroup
}

func newReports() reports {
	return reports{trig: make(chan govern.Trigger, 64), last: map[string]time.Time{}, watchers: map[string]io.Closer{}}
}

func (r *reports) fire(class string, at time.Time) {
	r.mu.Lock()
	r.last[class] = at
	r.mu.Unlock()
	select {
	case r.trig <- govern.Trigger{Class: class, At: at}:
	default:
	}
}

// keep holds a member's watcher until Remove, closing one it replaces.
func (r *reports) keep(path string, c io.Closer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.watchers[path]; old != nil {
		old.Close()
	}
	r.watchers[path] = c
}

// Remove closes a member's watcher.
func (r *reports) Remove(m *govern.Member) error {
	r.mu.Lock()
	w := r.watchers[m.Path]
	delete(r.watchers, m.Path)
	r.mu.Unlock()
	if w != nil {
		return w.Close()
	}
	return nil
}

// Gate does nothing: reading a file costs nothing while nothing changes.
func (r *reports) Gate(bool, map[string]bool) error { return nil }

func (r *reports) LastTrigger(class string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last[class]
}

func (r *reports) Triggers() <-chan govern.Trigger { return r.trig }

func (r *reports) Counters(string) map[string]uint64 { return nil }

// Close closes every watcher and waits for their goroutines.
func (r *reports) Close() error {
	r.mu.Lock()
	var errs []error
	for p, w := range r.watchers {
		errs = append(errs, w.Close())
		delete(r.watchers, p)
	}
	r.mu.Unlock()
	r.wg.Wait()
	return errors.Join(errs...)
}
