package cgroup_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
)

// eventsFile renders memory.events with fixed-width numbers, so that
// rewriting it in place is a single write of the same length.
func eventsFile(e cgroup.MemoryEvents) string {
	return fmt.Sprintf("low %010d\nhigh %010d\nmax %010d\noom %010d\noom_kill %010d\noom_group_kill %010d\n",
		e.Low, e.High, e.Max, e.OOM, e.OOMKill, e.OOMGroupKill)
}

func rewrite(t *testing.T, path, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte(content), 0); err != nil {
		t.Fatal(err)
	}
}

func nextEvents(t *testing.T, w *cgroup.EventsWatcher) cgroup.MemoryEvents {
	t.Helper()
	select {
	case d, ok := <-w.C():
		if !ok {
			t.Fatalf("C closed early: %v", w.Err())
		}
		return d
	case <-time.After(hang):
		t.Fatalf("no memory.events change within %v", hang)
	}
	panic("unreachable")
}

func TestWatchMemoryEventsOnFakeTree(t *testing.T) {
	start := cgroup.MemoryEvents{Low: 1, High: 5, Max: 2}
	fsys := fakeFS(t, map[string]string{"g/memory.events": eventsFile(start)})
	file := filepath.Join(fsys.Root, "g/memory.events")
	w, err := fsys.Group("g").WatchMemoryEvents()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	now := cgroup.MemoryEvents{Low: 1, High: 9, Max: 2, OOM: 1}
	rewrite(t, file, eventsFile(now))
	if d := nextEvents(t, w); d != (cgroup.MemoryEvents{High: 4, OOM: 1}) {
		t.Fatalf("first difference %+v; want high 4, oom 1", d)
	}
	// Changes the receiver has not taken yet add up into one value.
	later := now
	for range 5 {
		later.High++
		later.OOMKill++
		rewrite(t, file, eventsFile(later))
		time.Sleep(5 * time.Millisecond)
	}
	var sum cgroup.MemoryEvents
	for sum.High < 5 {
		d := nextEvents(t, w)
		sum.High += d.High
		sum.OOMKill += d.OOMKill
		sum.Low += d.Low
	}
	if sum != (cgroup.MemoryEvents{High: 5, OOMKill: 5}) {
		t.Fatalf("differences add up to %+v; want high 5, oom_kill 5", sum)
	}
	// A modification that changes no counter is not reported.
	rewrite(t, file, eventsFile(later))
	select {
	case d := <-w.C():
		t.Fatalf("unchanged counters reported as %+v", d)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestWatchMemoryEventsClose(t *testing.T) {
	fsys := fakeFS(t, map[string]string{"g/memory.events": eventsFile(cgroup.MemoryEvents{})})
	before := openFDs(t)
	w, err := fsys.Group("g").WatchMemoryEvents()
	if err != nil {
		t.Fatal(err)
	}
	// A pending difference nobody receives must not block Close.
	rewrite(t, filepath.Join(fsys.Root, "g/memory.events"), eventsFile(cgroup.MemoryEvents{Max: 1}))
	time.Sleep(50 * time.Millisecond)
	closeWithin(t, w.Close)
	closeWithin(t, w.Close)
	for range w.C() {
	}
	if err := w.Err(); err != nil {
		t.Errorf("Err after Close = %v", err)
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d open fds after Close, %d before", after, before)
	}
}

func TestWatchMemoryEventsMissing(t *testing.T) {
	fsys := fakeFS(t, map[string]string{"nomem/cgroup.procs": ""})
	if _, err := fsys.Group("nomem").WatchMemoryEvents(); !errors.Is(err, cgroup.ErrControllerNotEnabled) {
		t.Fatalf("no memory.events: got %v; want ErrControllerNotEnabled", err)
	}
}
