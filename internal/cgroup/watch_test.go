package cgroup_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
)

// hang is how long a test waits for something that should come at once
// before it declares the code under test stuck. It is not a performance
// bound.
const hang = 30 * time.Second

// next receives one event, failing t if the watcher hangs or ends.
func next(t *testing.T, w *cgroup.TreeWatcher) cgroup.TreeEvent {
	t.Helper()
	select {
	case ev, ok := <-w.Events():
		if !ok {
			t.Fatalf("Events closed early: %v", w.Err())
		}
		return ev
	case <-time.After(hang):
		t.Fatalf("no event within %v", hang)
	}
	panic("unreachable")
}

// collect receives n events and counts them by kind and path.
func collect(t *testing.T, w *cgroup.TreeWatcher, n int) map[cgroup.TreeEvent]int {
	t.Helper()
	got, err := collectUpTo(w, n)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// collectUpTo receives up to n events and counts them by kind and path. It
// returns what it got and an error if fewer came.
func collectUpTo(w *cgroup.TreeWatcher, n int) (map[cgroup.TreeEvent]int, error) {
	got := make(map[cgroup.TreeEvent]int)
	for i := range n {
		select {
		case ev, ok := <-w.Events():
			if !ok {
				return got, fmt.Errorf("Events closed after %d of %d events: %v", i, n, w.Err())
			}
			got[ev]++
		case <-time.After(hang):
			return got, fmt.Errorf("%d of %d events within %v", i, n, hang)
		}
	}
	return got, nil
}

// quiet fails t if w reports anything within d.
func quiet(t *testing.T, w *cgroup.TreeWatcher, d time.Duration) {
	t.Helper()
	select {
	case ev, ok := <-w.Events():
		t.Fatalf("unexpected event %+v (open=%v)", ev, ok)
	case <-time.After(d):
	}
}

func watchTree(t *testing.T, fsys *cgroup.FS, rel string) *cgroup.TreeWatcher {
	t.Helper()
	w, err := fsys.WatchTree(rel)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func mkdirs(t *testing.T, root string, rels ...string) {
	t.Helper()
	for _, r := range rels {
		if err := os.MkdirAll(filepath.Join(root, r), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func events(kind cgroup.TreeEventKind, paths ...string) map[cgroup.TreeEvent]int {
	m := make(map[cgroup.TreeEvent]int)
	for _, p := range paths {
		m[cgroup.TreeEvent{Path: p, Kind: kind}]++
	}
	return m
}

func sameCounts(t *testing.T, what string, got, want map[cgroup.TreeEvent]int) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d distinct events, want %d", what, len(got), len(want))
	}
	for ev, n := range want {
		if got[ev] != n {
			t.Errorf("%s: %+v reported %d times, want %d", what, ev, got[ev], n)
		}
	}
	for ev := range got {
		if _, ok := want[ev]; !ok {
			t.Errorf("%s: unexpected %+v", what, ev)
		}
	}
}

func TestWatchTreeReportsExistingThenChanges(t *testing.T) {
	fsys := fakeFS(t, map[string]string{"a/b/memory.max": "max\n", "c/cgroup.procs": "", "memory.stat": ""})
	w := watchTree(t, fsys, "")
	sameCounts(t, "existing", collect(t, w, 3), events(cgroup.Created, "/a", "/a/b", "/c"))

	mkdirs(t, fsys.Root, "d/e/f", "a/b/g")
	sameCounts(t, "mkdir", collect(t, w, 4), events(cgroup.Created, "/d", "/d/e", "/d/e/f", "/a/b/g"))
	// Files are not groups.
	if err := os.WriteFile(filepath.Join(fsys.Root, "d/memory.max"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(fsys.Root, "d")); err != nil {
		t.Fatal(err)
	}
	var order []string
	for range 3 {
		ev := next(t, w)
		if ev.Kind != cgroup.Removed {
			t.Fatalf("got %+v; want a removal", ev)
		}
		order = append(order, ev.Path)
	}
	if want := []string{"/d/e/f", "/d/e", "/d"}; !slices.Equal(order, want) {
		t.Errorf("removals in order %v; want %v", order, want)
	}
	quiet(t, w, 100*time.Millisecond)
}

func TestWatchTreeRename(t *testing.T) {
	fsys := fakeFS(t, nil)
	mkdirs(t, fsys.Root, "a/x/y")
	w := watchTree(t, fsys, "")
	collect(t, w, 3)
	if err := os.Rename(filepath.Join(fsys.Root, "a"), filepath.Join(fsys.Root, "b")); err != nil {
		t.Fatal(err)
	}
	// A subtree that leaves at once is reported deepest first, then the
	// subtree at its new path, parents first.
	var got []cgroup.TreeEvent
	for range 6 {
		got = append(got, next(t, w))
	}
	want := []cgroup.TreeEvent{
		{Path: "/a/x/y", Kind: cgroup.Removed}, {Path: "/a/x", Kind: cgroup.Removed}, {Path: "/a", Kind: cgroup.Removed},
		{Path: "/b", Kind: cgroup.Created}, {Path: "/b/x", Kind: cgroup.Created}, {Path: "/b/x/y", Kind: cgroup.Created},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("rename reported %v; want %v", got, want)
	}
	// The moved directory is watched at its new path.
	mkdirs(t, fsys.Root, "b/x/z")
	if ev := next(t, w); ev != (cgroup.TreeEvent{Path: "/b/x/z", Kind: cgroup.Created}) {
		t.Fatalf("after rename: %+v", ev)
	}
	quiet(t, w, 100*time.Millisecond)
}

func TestWatchTreeSubtree(t *testing.T) {
	fsys := fakeFS(t, nil)
	mkdirs(t, fsys.Root, "agents/high/s1", "other/z")
	w := watchTree(t, fsys, "agents")
	sameCounts(t, "existing", collect(t, w, 2), events(cgroup.Created, "/agents/high", "/agents/high/s1"))
	mkdirs(t, fsys.Root, "other/y", "agents/low/s2")
	sameCounts(t, "mkdir", collect(t, w, 2), events(cgroup.Created, "/agents/low", "/agents/low/s2"))
	quiet(t, w, 100*time.Millisecond)
}

// TestWatchTreeOverflow fills the kernel's event queue
// (fs.inotify.max_queued_events) while the watcher is stuck sending to a
// receiver that does not read, then changes the tree: the changes' events
// are lost, and the rescan after IN_Q_OVERFLOW must report each once.
func TestWatchTreeOverflow(t *testing.T) {
	max, err := os.ReadFile("/proc/sys/fs/inotify/max_queued_events")
	if err != nil {
		t.Skipf("no inotify limits: %v", err)
	}
	var queue int
	fmt.Sscan(string(max), &queue)
	fsys := fakeFS(t, nil)
	var pre []string
	for i := range 100 { // more than Events' buffer: the goroutine blocks
		pre = append(pre, fmt.Sprintf("/pre%03d", i))
	}
	mkdirs(t, fsys.Root, pre...)
	w := watchTree(t, fsys, "")
	// Fill the queue with file events, which the watcher ignores.
	junk := filepath.Join(fsys.Root, "junk")
	for range queue/2 + 100 {
		if err := os.WriteFile(junk, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(junk); err != nil {
			t.Fatal(err)
		}
	}
	// These changes' events no longer fit.
	mkdirs(t, fsys.Root, "new/a", "new/b")
	for _, p := range pre[90:] {
		if err := os.Remove(filepath.Join(fsys.Root, p)); err != nil {
			t.Fatal(err)
		}
	}
	sameCounts(t, "existing", collect(t, w, len(pre)), events(cgroup.Created, pre...))
	want := events(cgroup.Created, "/new", "/new/a", "/new/b")
	for ev, n := range events(cgroup.Removed, pre[90:]...) {
		want[ev] = n
	}
	sameCounts(t, "after overflow", collect(t, w, len(want)), want)
	quiet(t, w, 100*time.Millisecond)
	// The new groups are watched.
	mkdirs(t, fsys.Root, "new/a/x")
	if ev := next(t, w); ev != (cgroup.TreeEvent{Path: "/new/a/x", Kind: cgroup.Created}) {
		t.Fatalf("after the rescan: %+v", ev)
	}
}

func TestWatchTreeRootRemoved(t *testing.T) {
	fsys := fakeFS(t, nil)
	mkdirs(t, fsys.Root, "top/a")
	w := watchTree(t, fsys, "top")
	collect(t, w, 1)
	if err := os.RemoveAll(filepath.Join(fsys.Root, "top")); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, w); ev != (cgroup.TreeEvent{Path: "/top/a", Kind: cgroup.Removed}) {
		t.Fatalf("got %+v; want /top/a removed", ev)
	}
	select {
	case ev, ok := <-w.Events():
		if ok {
			t.Fatalf("got %+v; want Events closed", ev)
		}
	case <-time.After(hang):
		t.Fatal("Events not closed after the watched group was removed")
	}
	if err := w.Err(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Err = %v; want fs.ErrNotExist", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close after the end: %v", err)
	}
}

func TestWatchTreeMissing(t *testing.T) {
	fsys := fakeFS(t, nil)
	_, err := fsys.WatchTree("nope")
	var fe *cgroup.FileError
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &fe) || fe.Path != filepath.Join(fsys.Root, "nope") {
		t.Fatalf("WatchTree(missing) = %v; want a FileError with fs.ErrNotExist naming the path", err)
	}
}

// openFDs counts the process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// closeWithin closes w from another goroutine and fails t if Close hangs.
func closeWithin(t *testing.T, close func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(hang):
		t.Fatal("Close hangs")
	}
}

func TestWatchTreeCloseReleasesEverything(t *testing.T) {
	fsys := fakeFS(t, nil)
	mkdirs(t, fsys.Root, "a", "b")
	before := openFDs(t)
	w, err := fsys.WatchTree("")
	if err != nil {
		t.Fatal(err)
	}
	// Nobody reads: the goroutine is blocked sending when Close comes.
	mkdirs(t, fsys.Root, "c")
	time.Sleep(50 * time.Millisecond)
	closeWithin(t, w.Close)
	closeWithin(t, w.Close) // again: a no-op
	for range w.Events() {
		// Drained: Events is closed.
	}
	if err := w.Err(); err != nil {
		t.Errorf("Err after Close = %v; want nil", err)
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d open fds after Close, %d before", after, before)
	}
}
