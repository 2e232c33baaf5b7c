package cgroup_test

import (
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
)

func TestWatchPressureRejectsBadArguments(t *testing.T) {
	fsys := fakeFS(t, map[string]string{"g/memory.pressure": "", "g/cpu.pressure": ""})
	g := fsys.Group("g")
	for _, tc := range []struct {
		name           string
		resource, kind string
		stall, window  time.Duration
	}{
		{"resource", "disk", "some", 100 * time.Millisecond, time.Second},
		{"kind", "memory", "all", 100 * time.Millisecond, time.Second},
		{"window too short", "memory", "some", 100 * time.Millisecond, 499 * time.Millisecond},
		{"window too long", "memory", "full", time.Second, 10*time.Second + time.Microsecond},
		{"stall above window", "memory", "some", 2 * time.Second, time.Second},
		{"stall zero", "cpu", "some", 0, time.Second},
		{"stall below 1µs", "memory", "some", 999 * time.Nanosecond, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := g.WatchPressure(tc.resource, tc.kind, tc.stall, tc.window)
			if err == nil {
				tr.Close()
			}
			if !errors.Is(err, cgroup.ErrInvalidTrigger) {
				t.Fatalf("got %v; want ErrInvalidTrigger", err)
			}
			t.Log(err)
		})
	}
}

func TestWatchPressureNotSupported(t *testing.T) {
	fsys := fakeFS(t, map[string]string{"nopsi/cgroup.procs": ""})
	_, err := fsys.Group("nopsi").WatchPressure("memory", "some", 100*time.Millisecond, time.Second)
	if !errors.Is(err, cgroup.ErrNotSupported) {
		t.Fatalf("no memory.pressure: got %v; want ErrNotSupported", err)
	}
	_, err = fsys.Group("nope").WatchPressure("memory", "some", 100*time.Millisecond, time.Second)
	if errors.Is(err, cgroup.ErrNotSupported) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing group: got %v; want fs.ErrNotExist only", err)
	}
}

// TestWatchPressureClose uses a regular file, which never reports POLLPRI:
// the goroutine waits in poll until Close wakes it.
func TestWatchPressureClose(t *testing.T) {
	fsys := fakeFS(t, map[string]string{"g/memory.pressure": ""})
	before := openFDs(t)
	tr, err := fsys.Group("g").WatchPressure("memory", "full", 150*time.Millisecond, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	closeWithin(t, tr.Close)
	closeWithin(t, tr.Close)
	if _, ok := <-tr.C(); ok {
		t.Error("C delivered a value; want it closed")
	}
	if err := tr.Err(); err != nil {
		t.Errorf("Err after Close = %v", err)
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d open fds after Close, %d before", after, before)
	}
}
