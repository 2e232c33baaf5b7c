package cgroup_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/testutil"
)

// The tests in this file need root and a real cgroup v2 hierarchy; they run
// for real in the guest suite.

func realFS(t *testing.T) *cgroup.FS {
	t.Helper()
	fsys, err := cgroup.Open("")
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

// churn creates paths in order, then removes them in reverse order, one
// every interval (0: as fast as it can), and logs the rates.
func churn(t *testing.T, fsys *cgroup.FS, paths []string, interval time.Duration) error {
	pace := func() {}
	if interval > 0 {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		pace = func() { <-tick.C }
	}
	start := time.Now()
	for _, p := range paths {
		pace()
		if _, err := fsys.Create(p); err != nil {
			return err
		}
	}
	created := time.Since(start)
	start = time.Now()
	for _, p := range slices.Backward(paths) {
		pace()
		if err := os.Remove(fsys.Group(p).Path()); err != nil {
			return err
		}
	}
	removed := time.Since(start)
	n := float64(len(paths))
	t.Logf("created %d groups in %v (%.0f/s), removed them in %v (%.0f/s)",
		len(paths), created, n/created.Seconds(), removed, n/removed.Seconds())
	return nil
}

// sessions returns 25 sessions, each a chain of four nested groups, below
// top: 100 paths, parents first.
func sessions(top *cgroup.Group) []string {
	var paths []string
	for s := range 25 {
		p := fmt.Sprintf("%s/s%02d", top.Name(), s)
		for _, level := range []string{"", "/a", "/a/b", "/a/b/c"} {
			paths = append(paths, p+level)
		}
	}
	return paths
}

// TestRealWatchTreeChurn creates 100 nested groups at 100 a second (twice
// the daemon's promised 50), then removes them at the same rate, while a
// TreeWatcher runs: each creation and each removal must be reported exactly
// once, and Close must release everything.
func TestRealWatchTreeChurn(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2)
	top := testutil.Cgroup(t)
	fsys := realFS(t)
	before := openFDs(t)
	w, err := fsys.WatchTree(top.Name())
	if err != nil {
		t.Fatal(err)
	}
	paths := sessions(top)
	done := make(chan error, 1)
	go func() { done <- churn(t, fsys, paths, 10*time.Millisecond) }()
	got, cerr := collectUpTo(w, 2*len(paths))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if cerr != nil {
		t.Error(cerr)
	} else {
		quiet(t, w, 500*time.Millisecond) // nothing reported twice
	}
	want := events(cgroup.Created, paths...)
	for ev, n := range events(cgroup.Removed, paths...) {
		want[ev] = n
	}
	sameCounts(t, "churn", got, want)
	closeWithin(t, w.Close)
	if _, ok := <-w.Events(); ok {
		t.Error("Events still open after Close")
	}
	if err := w.Err(); err != nil {
		t.Errorf("Err = %v", err)
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d open fds after Close, %d before", after, before)
	}
}

// TestRealWatchTreeChurnFlatOut creates and removes the same 100 groups
// as fast as it can, so that some nested groups live shorter than the
// watcher's lag. Every session (a direct child) must be reported created
// and removed once; a nested group may go unseen, but never half: what is
// reported created is reported removed, once.
func TestRealWatchTreeChurnFlatOut(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2)
	top := testutil.Cgroup(t)
	fsys := realFS(t)
	w, err := fsys.WatchTree(top.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer closeWithin(t, w.Close)
	paths := sessions(top)
	done := make(chan error, 1)
	go func() { done <- churn(t, fsys, paths, 0) }()
	got := make(map[cgroup.TreeEvent]int)
	for left := 25; left > 0; {
		ev := next(t, w)
		got[ev]++
		if ev.Kind == cgroup.Removed && path.Dir(ev.Path) == top.Name() {
			left--
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	quiet(t, w, 500*time.Millisecond)
	nested := 0
	for _, p := range paths {
		c, r := got[cgroup.TreeEvent{Path: p, Kind: cgroup.Created}], got[cgroup.TreeEvent{Path: p, Kind: cgroup.Removed}]
		top := path.Dir(p) == top.Name()
		switch {
		case c != r || c > 1:
			t.Errorf("%s: created %d times, removed %d times", p, c, r)
		case top && c != 1:
			t.Errorf("session %s: created and removed %d times; want once", p, c)
		case !top:
			nested += c
		}
	}
	if len(got) > 2*len(paths) {
		t.Errorf("%d distinct events for %d groups", len(got), len(paths))
	}
	t.Logf("%d of 75 nested groups seen", nested)
}

// TestRealWatchTreeLatency measures the time from mkdir (and rmdir) of a
// group to its event, for the docs. It asserts only that each event comes.
func TestRealWatchTreeLatency(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2)
	top := testutil.Cgroup(t)
	fsys := realFS(t)
	w, err := fsys.WatchTree(top.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var mk, rm []time.Duration
	for i := range 30 {
		g := top.Child(fmt.Sprintf("s%d", i))
		start := time.Now()
		if err := os.Mkdir(g.Path(), 0o755); err != nil {
			t.Fatal(err)
		}
		if ev := next(t, w); ev != (cgroup.TreeEvent{Path: g.Name(), Kind: cgroup.Created}) {
			t.Fatalf("got %+v; want %s created", ev, g.Name())
		}
		mk = append(mk, time.Since(start))
		start = time.Now()
		if err := os.Remove(g.Path()); err != nil {
			t.Fatal(err)
		}
		if ev := next(t, w); ev != (cgroup.TreeEvent{Path: g.Name(), Kind: cgroup.Removed}) {
			t.Fatalf("got %+v; want %s removed", ev, g.Name())
		}
		rm = append(rm, time.Since(start))
	}
	t.Logf("mkdir→event: %s", quantiles(mk))
	t.Logf("rmdir→event: %s", quantiles(rm))
}

func quantiles(d []time.Duration) string {
	slices.Sort(d)
	q := func(f float64) time.Duration { return d[int(f*float64(len(d)-1))] }
	return fmt.Sprintf("min %v, median %v, p90 %v, max %v (n=%d)", q(0), q(0.5), q(0.9), q(1), len(d))
}

// overHigh starts a process in g that allocates far more than g's
// memory.high, so that the kernel throttles it: it reclaims and stalls.
func overHigh(t *testing.T, g *cgroup.Group) {
	t.Helper()
	if err := g.SetLimit(cgroup.MemoryHigh, 16<<20); err != nil {
		t.Fatal(err)
	}
	if err := g.SetLimit(cgroup.MemorySwapMax, 0); err != nil && !errors.Is(err, cgroup.ErrControllerNotEnabled) {
		t.Fatal(err)
	}
	cmd := testutil.HelperCommand(t, "alloc", "256")
	if err := g.Start(cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
}

func TestRealPressureTriggerFires(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2, testutil.PSI)
	g := testutil.Cgroup(t)
	tr, err := g.WatchPressure("memory", "some", 100*time.Millisecond, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer closeWithin(t, tr.Close)
	start := time.Now()
	overHigh(t, g)
	select {
	case at, ok := <-tr.C():
		if !ok {
			t.Fatalf("C closed: %v", tr.Err())
		}
		p, _ := g.MemoryPressure()
		t.Logf("notified %v after the allocation started; memory.pressure %+v", at.Sub(start), p)
	case <-time.After(hang):
		p, _ := g.MemoryPressure()
		t.Fatalf("no PSI notification within %v while over memory.high; memory.pressure %+v", hang, p)
	}
}

func TestRealPressureTriggerIdle(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2, testutil.PSI)
	g := testutil.Cgroup(t)
	cmd := testutil.HelperCommand(t, "sleep")
	if err := g.Start(cmd); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	tr, err := g.WatchPressure("memory", "some", 50*time.Millisecond, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer closeWithin(t, tr.Close)
	select {
	case at := <-tr.C():
		t.Fatalf("idle group notified at %v", at)
	case <-time.After(4 * 500 * time.Millisecond):
	}
}

// TestRealPressureTriggerGroupRemoved checks that removing the group ends
// the trigger instead of leaving its goroutine spinning or stuck.
func TestRealPressureTriggerGroupRemoved(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2, testutil.PSI)
	top := testutil.Cgroup(t)
	g, err := realFS(t).Create(top.Name() + "/gone")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := g.WatchPressure("memory", "full", 100*time.Millisecond, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer closeWithin(t, tr.Close)
	if err := os.Remove(g.Path()); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-tr.C():
		if ok {
			t.Fatal("a notification for a removed group; want C closed")
		}
		t.Logf("ended: %v", tr.Err())
		if tr.Err() == nil {
			t.Error("Err is nil after the group was removed")
		}
	case <-time.After(hang):
		t.Fatal("the trigger did not end when its group was removed")
	}
}

func TestRealPressureTriggerErrors(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2, testutil.PSI)
	g := testutil.Cgroup(t)
	if _, err := g.WatchPressure("memory", "some", time.Second, 500*time.Millisecond); !errors.Is(err, cgroup.ErrInvalidTrigger) {
		t.Errorf("stall above window: %v; want ErrInvalidTrigger", err)
	}
	_, err := g.Child("nope").WatchPressure("memory", "some", 100*time.Millisecond, time.Second)
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, cgroup.ErrNotSupported) {
		t.Errorf("missing group: %v; want fs.ErrNotExist", err)
	}
}

func TestRealMemoryEventsHigh(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2)
	g := testutil.Cgroup(t)
	w, err := g.WatchMemoryEvents()
	if err != nil {
		t.Fatal(err)
	}
	defer closeWithin(t, w.Close)
	start := time.Now()
	overHigh(t, g)
	for {
		d := nextEvents(t, w)
		t.Logf("after %v: %+v", time.Since(start), d)
		if d.High > 0 {
			break
		}
	}
	ev, err := g.MemoryEvents()
	if err != nil || ev.High == 0 {
		t.Fatalf("memory.events = %+v, %v; want high > 0", ev, err)
	}
}

// TestRealMemoryEventsIdle checks that a group without memory events
// reports nothing, and that a watcher outlives its group's removal until
// Close.
func TestRealMemoryEventsIdle(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2)
	top := testutil.ParentCgroup(t)
	g, err := realFS(t).Create(top.Name() + "/idle")
	if err != nil {
		t.Fatal(err)
	}
	w, err := g.WatchMemoryEvents()
	if err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-w.C():
		t.Fatalf("idle group reported %+v", d)
	case <-time.After(time.Second):
	}
	if err := os.Remove(g.Path()); err != nil {
		t.Fatal(err)
	}
	closeWithin(t, w.Close)
	if _, ok := <-w.C(); ok {
		t.Error("C still open after Close")
	}
}

func TestRealWeights(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2)
	g := testutil.Cgroup(t)
	for _, c := range []string{"cpu", "io"} {
		if ctrls, _ := g.Controllers(); !slices.Contains(ctrls, c) {
			t.Fatalf("%s controller not available to test groups: %v", c, ctrls)
		}
	}
	if err := g.SetCPUWeight(321); err != nil {
		t.Fatal(err)
	}
	if w, err := g.CPUWeight(); err != nil || w != 321 {
		t.Errorf("CPUWeight = %d, %v; want 321", w, err)
	}
	if err := g.SetIOWeight(42); err != nil {
		t.Fatal(err)
	}
	if w, err := g.IOWeight(); err != nil || w != 42 {
		t.Errorf("IOWeight = %d, %v; want 42", w, err)
	}
	if s, _ := g.ReadString("io.weight"); !strings.HasPrefix(s, "default 42") {
		t.Errorf("io.weight = %q", s)
	}
	// A child of a group that enables neither controller has neither file.
	child, err := realFS(t).Create(g.Name() + "/child")
	if err != nil {
		t.Fatal(err)
	}
	if err := child.SetCPUWeight(50); !errors.Is(err, cgroup.ErrControllerNotEnabled) {
		t.Errorf("cpu.weight without +cpu: %v; want ErrControllerNotEnabled", err)
	}
	if err := child.SetIOWeight(50); !errors.Is(err, cgroup.ErrControllerNotEnabled) {
		t.Errorf("io.weight without +io: %v; want ErrControllerNotEnabled", err)
	}
	if err := g.EnableControllers("cpu", "io"); err != nil {
		t.Fatal(err)
	}
	if err := child.SetIOWeight(50); err != nil {
		t.Errorf("io.weight after +io: %v", err)
	}
}
