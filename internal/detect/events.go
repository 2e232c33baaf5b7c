package detect

import (
	"fmt"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/govern"
)

// Events reports pressure in HIGH classes from memory.events: a high, max
// or oom event of the root reports every HIGH class, one of a HIGH member
// reports its class. It needs only cgroup v2 (inotify on the files).
type Events struct {
	reports
}

// NewEvents starts following the root's memory.events, for the HIGH
// classes of cfg.
func NewEvents(cfg *config.Config, root *cgroup.Group) (*Events, error) {
	d := &Events{reports: newReports()}
	w, err := root.WatchMemoryEvents()
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", root.Path(), err)
	}
	d.keep("", w)
	var highs []string
	for _, c := range cfg.Classes {
		if c.Priority == config.High {
			highs = append(highs, c.Name)
		}
	}
	d.follow(w.C(), highs...)
	return d, nil
}

func (d *Events) Name() string { return string(config.SourceEvents) }

// Add follows a HIGH member's memory.events.
func (d *Events) Add(m *govern.Member) error {
	if !m.High() {
		return nil
	}
	w, err := m.Group.WatchMemoryEvents()
	if err != nil {
		return err
	}
	d.keep(m.Path, w)
	d.follow(w.C(), m.Class.Name)
	return nil
}

// follow turns memory.events deltas with high, max or oom events into
// triggers of classes.
func (d *Events) follow(c <-chan cgroup.MemoryEvents, classes ...string) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		for ev := range c {
			if ev.High+ev.Max+ev.OOM == 0 {
				continue
			}
			for _, cl := range classes {
				d.fire(cl, time.Now())
			}
		}
	}()
}
