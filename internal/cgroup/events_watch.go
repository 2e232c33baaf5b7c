package cgroup

import (
	"errors"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// EventsWatcher reports changes of a group's memory.events counters. The
// kernel signals each change of memory.events as a modification of the
// file (kernfs_notify, rate-limited to one per 10 ms), which the watcher
// receives through inotify, so an idle group costs nothing.
//
// Two goroutines run: one reads inotify, the other re-reads memory.events
// and sends the differences. A receiver that falls behind gets the sum of
// the differences it missed in one value, so no event is lost. The watcher
// does not end when the group is removed; the caller closes it.
//
// C and Err are safe to call from any goroutine; Close is safe to call from
// any goroutine, any number of times.
type EventsWatcher struct {
	g      *Group
	name   string
	in     *inotify
	c      chan MemoryEvents
	kicks  chan struct{}
	done   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
	ended  chan struct{}
	result result // why the watcher ended
	readEr error  // why the inotify reader ended; written before kicks is closed
}

// WatchMemoryEvents starts watching g's memory.events, which counts events
// in g and its descendants. The counters at the start are the baseline:
// C receives only what happens afterwards. It needs read access to the
// file and fails with ErrControllerNotEnabled if g has no memory controller.
func (g *Group) WatchMemoryEvents() (*EventsWatcher, error) {
	return g.watchEvents("memory.events")
}

func (g *Group) watchEvents(name string) (*EventsWatcher, error) {
	in, err := newInotify()
	if err != nil {
		return nil, err
	}
	w := &EventsWatcher{
		g: g, name: name, in: in, c: make(chan MemoryEvents),
		kicks: make(chan struct{}, 1), done: make(chan struct{}), ended: make(chan struct{}),
	}
	if _, err := in.add(filepath.Join(g.Path(), name), unix.IN_MODIFY); err != nil {
		in.close()
		var fe *FileError
		if errors.As(err, &fe) {
			err = g.fileError("watch", name, fe.Err)
		}
		return nil, err
	}
	base, err := g.memoryEvents(name)
	if err != nil {
		in.close()
		return nil, err
	}
	w.wg.Add(1)
	go w.read()
	go w.run(base)
	return w, nil
}

// C returns the channel of differences: each value holds the events
// counted since the previous one, and is never all zero. It is closed when
// the watcher ends.
func (w *EventsWatcher) C() <-chan MemoryEvents { return w.c }

// Err returns why the watcher ended on its own, or nil. It is meaningful
// once C is closed.
func (w *EventsWatcher) Err() error { return w.result.get() }

// Close stops the watcher and closes C. It returns once both goroutines
// have ended. Differences not yet received are dropped.
func (w *EventsWatcher) Close() error {
	err := w.stop()
	<-w.ended
	return err
}

// stop tells both goroutines to end, once.
func (w *EventsWatcher) stop() error {
	var err error
	w.once.Do(func() {
		close(w.done)
		err = w.in.close()
	})
	return err
}

// read turns inotify events into kicks, merging those not yet handled.
func (w *EventsWatcher) read() {
	defer w.wg.Done()
	defer close(w.kicks)
	buf := make([]byte, inotifyBufSize)
	for {
		if _, err := w.in.read(buf); err != nil {
			select {
			case <-w.done: // closed by Close
			default:
				w.readEr = err
			}
			return
		}
		select {
		case w.kicks <- struct{}{}:
		default:
		}
	}
}

// run re-reads the counters on each kick and delivers the differences.
func (w *EventsWatcher) run(last MemoryEvents) {
	defer close(w.ended)
	defer close(w.c)
	defer w.wg.Wait()
	var pending MemoryEvents
	for {
		out := w.c
		if pending == (MemoryEvents{}) {
			out = nil // nothing to send
		}
		select {
		case _, ok := <-w.kicks:
			if !ok {
				w.result.set(w.readEr)
				return
			}
			now, err := w.g.memoryEvents(w.name)
			if err != nil {
				w.result.set(err)
				w.stop()
				return
			}
			pending = add(pending, now.Sub(last))
			last = now
		case out <- pending:
			pending = MemoryEvents{}
		case <-w.done:
			return
		}
	}
}

// add returns a + b, field by field.
func add(a, b MemoryEvents) MemoryEvents {
	return MemoryEvents{
		Low: a.Low + b.Low, High: a.High + b.High, Max: a.Max + b.Max,
		OOM: a.OOM + b.OOM, OOMKill: a.OOMKill + b.OOMKill,
		OOMGroupKill: a.OOMGroupKill + b.OOMGroupKill,
	}
}
