package bpf_test

import (
	"errors"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/bpf"
	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/testutil"
)

// TestClassesAreIndependent: faults in HIGH class H1 put H1 under
// pressure, not H2; LOW class L1 (yielding to H1) is delayed, L2
// (yielding to H2) is not.
func TestClassesAreIndependent(t *testing.T) {
	testutil.Require(t, testutil.MemcgOps)
	const h1, h2, l1, l2 bpf.ClassID = 1, 2, 3, 4
	d := newDetector(t, refHigh(), refLow())
	hcfg := bpf.HighConfig{Threshold: 1000, Window: time.Second, Hold: time.Minute, ProtectLow: true}
	setHigh(t, d, h1, hcfg)
	setHigh(t, d, h2, hcfg)
	for id, yields := range map[bpf.ClassID]bpf.ClassID{l1: h1, l2: h2} {
		if err := d.SetLow(id, bpf.LowConfig{Delay: 20 * time.Millisecond, YieldsTo: []bpf.ClassID{yields}}); err != nil {
			t.Fatal(err)
		}
	}
	parent := testutil.ParentCgroup(t)
	g := map[bpf.ClassID]*cgroup.Group{}
	for id, name := range map[bpf.ClassID]string{h1: "h1", h2: "h2", l1: "l1", l2: "l2"} {
		g[id] = child(t, parent, name)
	}
	addHigh(t, d, g[h1], h1)
	addHigh(t, d, g[h2], h2)
	for _, id := range []bpf.ClassID{l1, l2} {
		if _, err := attach(t, d, bpf.Low, id, g[id], 0); err != nil {
			t.Fatal(err)
		}
	}
	run(t, g[h1], 16)
	c1, c2 := counters(t, d, h1), counters(t, d, h2)
	if c1.HighFaults < 4096 || c1.Triggers == 0 || c2.HighFaults != 0 || c2.Triggers != 0 {
		t.Fatalf("after H1 faulted: H1 %+v, H2 %+v; want only H1 triggered", c1, c2)
	}
	if p1, p2 := pressure(t, d, h1), pressure(t, d, h2); !p1.Active || p2.Active {
		t.Fatalf("pressure H1 %+v, H2 %+v; want H1 only", p1, p2)
	}
	run(t, g[l1], 4)
	run(t, g[l2], 4)
	d1, d2 := counters(t, d, l1), counters(t, d, l2)
	if d1.DelayActive == 0 || d1.DelayMsTotal != 20*d1.DelayActive {
		t.Fatalf("L1, yielding to H1 under pressure: %+v; want 20 ms delays", d1)
	}
	if d2.DelayCalls == 0 || d2.DelayActive != 0 {
		t.Fatalf("L2, yielding to H2 without pressure: %+v; want calls and no delays", d2)
	}
	t.Logf("H1 %+v\nL1 %+v\nL2 %+v", c1, d1, d2)
}

// TestSubtreeCounts: a cgroup nested inside a registered HIGH member,
// with a memcg of its own and not registered itself, counts for the
// member's class.
func TestSubtreeCounts(t *testing.T) {
	cfg := bpf.HighConfig{Threshold: 1000, Window: time.Second, Hold: time.Minute}
	d := newDetector(t, cfg, refLow())
	parent := testutil.ParentCgroup(t)
	member := child(t, parent, "member")
	if err := member.EnableControllers("memory"); err != nil {
		t.Fatal(err)
	}
	nested := child(t, member, "session")
	if err := nested.EnableControllers("memory"); err != nil {
		t.Fatal(err)
	}
	leaf := child(t, nested, "tool")
	addHigh(t, d, member, highClass)
	run(t, leaf, 16)
	c := counters(t, d, highClass)
	if c.HighFaults < 4096 || c.Triggers == 0 || !pressure(t, d, highClass).Active {
		t.Fatalf("faults two levels below a HIGH member: %+v; want them counted and the class triggered", c)
	}
}

// TestArmedGate: a class with RequireArmed does not trigger while
// disarmed, however many faults, and does once armed.
func TestArmedGate(t *testing.T) {
	cfg := bpf.HighConfig{Threshold: 1000, Window: time.Second, Hold: time.Minute, RequireArmed: true}
	d := newDetector(t, cfg, refLow())
	parent := testutil.ParentCgroup(t)
	high := child(t, parent, "high")
	addHigh(t, d, high, highClass)
	run(t, high, 16)
	c := counters(t, d, highClass)
	if p := pressure(t, d, highClass); c.HighFaults < 4096 || c.Triggers != 0 || p.Active || p.Armed {
		t.Fatalf("disarmed: %+v, pressure %+v; want faults counted, no trigger", c, p)
	}
	if err := d.Arm(highClass, true); err != nil {
		t.Fatal(err)
	}
	run(t, high, 16)
	c = counters(t, d, highClass)
	if p := pressure(t, d, highClass); c.Triggers == 0 || !p.Active || !p.Armed {
		t.Fatalf("armed: %+v, pressure %+v; want a trigger", c, p)
	}
}

// TestTriggerEvents: one ring-buffer event per transition into pressure,
// none while the pressure is only extended.
func TestTriggerEvents(t *testing.T) {
	cfg := bpf.HighConfig{Threshold: 1000, Window: time.Second, Hold: time.Hour}
	d := newDetector(t, cfg, refLow())
	parent := testutil.ParentCgroup(t)
	high := child(t, parent, "high")
	addHigh(t, d, high, highClass)
	start, err := bpf.Monotonic()
	if err != nil {
		t.Fatal(err)
	}
	run(t, high, 16)
	run(t, high, 16) // extends the pressure: no new event
	ev := nextTrigger(t, d)
	if ev.Class != highClass || ev.Faults <= cfg.Threshold || ev.At < start {
		t.Fatalf("trigger %+v; want class %d, more than %d faults, after %v", ev, highClass, cfg.Threshold, start)
	}
	if c := counters(t, d, highClass); c.Triggers < 2 {
		t.Fatalf("counters %+v; want the window above the threshold more than once", c)
	}
	noTrigger(t, d)
	// A fresh class (RemoveClass resets its state) triggers again.
	if err := d.RemoveClass(highClass); err != nil {
		t.Fatal(err)
	}
	if p := pressure(t, d, highClass); p.Active {
		t.Fatalf("pressure after RemoveClass: %+v", p)
	}
	setHigh(t, d, highClass, cfg)
	addHigh(t, d, high, highClass)
	run(t, high, 16)
	if ev := nextTrigger(t, d); ev.Class != highClass {
		t.Fatalf("second trigger %+v", ev)
	}
	noTrigger(t, d)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-d.Triggers(); ok {
		t.Fatal("Triggers still open after Close")
	}
	if _, err := d.Pressure(highClass); !errors.Is(err, bpf.ErrClosed) {
		t.Fatalf("Pressure after Close: %v; want ErrClosed", err)
	}
}

// nextTrigger waits for the ring buffer's next event (events arrive
// asynchronously).
func nextTrigger(t *testing.T, d *bpf.Detector) bpf.Trigger {
	t.Helper()
	select {
	case ev := <-d.Triggers():
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no trigger event within 10 s")
	}
	panic("unreachable")
}

func noTrigger(t *testing.T, d *bpf.Detector) {
	t.Helper()
	select {
	case ev := <-d.Triggers():
		t.Fatalf("extra trigger event %+v", ev)
	case <-time.After(500 * time.Millisecond):
	}
}

// memqosLinks returns the ids of memqos's struct_ops links in the kernel.
func memqosLinks(t *testing.T) []bpf.LinkInfo {
	t.Helper()
	links, err := bpf.StructOpsLinks()
	if err != nil {
		t.Fatal(err)
	}
	return links
}

// waitNoLinks waits until the kernel has freed every memqos link (links
// are freed after an RCU grace period).
func waitNoLinks(t *testing.T) {
	t.Helper()
	var links []bpf.LinkInfo
	for i := 0; i < 100; i++ {
		if links = memqosLinks(t); len(links) == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("memqos links still in the kernel: %+v", links)
}

// TestMemberRemovedWhileAttached: someone else removes a member cgroup
// whose ops are attached; Close still succeeds and no memqos link is
// left.
func TestMemberRemovedWhileAttached(t *testing.T) {
	testutil.Require(t, testutil.MemcgOps)
	d := newDetector(t, refHigh(), bpf.LowConfig{Delay: 20 * time.Millisecond, YieldsTo: []bpf.ClassID{highClass}})
	waitNoLinks(t)
	parent := testutil.ParentCgroup(t)
	var atts []*bpf.Attachment
	var groups []*cgroup.Group
	for role, id := range map[bpf.Role]bpf.ClassID{bpf.High: highClass, bpf.Low: lowClass} {
		g := child(t, parent, role.String())
		dir, err := g.OpenDir()
		if err != nil {
			t.Fatal(err)
		}
		a, err := d.Attach(role, id, dir, 0)
		dir.Close()
		if err != nil {
			t.Fatal(err)
		}
		atts, groups = append(atts, a), append(groups, g)
		if role == bpf.High {
			addHigh(t, d, g, highClass)
		}
		run(t, g, 4) // the cgroup has had a process, which has exited
	}
	var names []string
	for _, l := range memqosLinks(t) {
		names = append(names, l.MapName)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"memqos_high_ops", "memqos_low_ops"}) {
		t.Fatalf("memqos links: %v; want one HIGH and one LOW", names)
	}
	for _, g := range groups {
		if err := os.Remove(g.Path()); err != nil {
			t.Fatalf("rmdir %s with ops attached: %v", g.Path(), err)
		}
	}
	t.Logf("memqos links right after rmdir: %+v", memqosLinks(t))
	for _, a := range atts {
		if err := a.Close(); err != nil {
			t.Errorf("close %s ops of a removed cgroup: %v", a.Role, err)
		}
	}
	waitNoLinks(t)
	// The detector still works.
	other := child(t, parent, "other")
	addHigh(t, d, other, highClass)
	run(t, other, 1)
	if _, err := d.Pressure(highClass); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentClose: Close from several goroutines detaches once; a
// later Close does not detach ops attached since.
func TestConcurrentClose(t *testing.T) {
	testutil.Require(t, testutil.MemcgOps)
	high := refHigh()
	high.Threshold, high.Hold = 0, time.Hour
	d := newDetector(t, high, bpf.LowConfig{Delay: 20 * time.Millisecond, YieldsTo: []bpf.ClassID{highClass}})
	parent := testutil.ParentCgroup(t)
	hg, low := child(t, parent, "high"), child(t, parent, "low")
	addHigh(t, d, hg, highClass)
	run(t, hg, 1)
	first, err := attach(t, d, bpf.Low, lowClass, low, 0)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = first.Close()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent Close: %v", err)
	}
	// Detached: attaching again without ALLOW_OVERRIDE works.
	if _, err := attach(t, d, bpf.Low, lowClass, low, 0); err != nil {
		t.Fatalf("attach after Close: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	before := counters(t, d, lowClass)
	run(t, low, 4)
	if c := counters(t, d, lowClass).Sub(before); c.DelayActive == 0 {
		t.Fatalf("a second Close of the first attachment detached the second: %+v", c)
	}
	if n := len(memqosLinks(t)); n == 0 {
		t.Fatal("StructOpsLinks lists no link while one is attached")
	}
}

// TestWindowSlides: faults older than the window do not count, and
// pressure ends after its hold time.
func TestWindowSlides(t *testing.T) {
	// 8 MiB is 2048 faults plus the helper's start (about 350); two runs
	// in one window would cross 3000.
	cfg := bpf.HighConfig{Threshold: 3000, Window: 2 * time.Second, Hold: 300 * time.Millisecond}
	d := newDetector(t, cfg, refLow())
	parent := testutil.ParentCgroup(t)
	high := child(t, parent, "high")
	addHigh(t, d, high, highClass)
	run(t, high, 8)
	time.Sleep(cfg.Window + cfg.Window/8) // the first run's buckets leave the window
	run(t, high, 8)
	if c := counters(t, d, highClass); c.HighFaults <= cfg.Threshold || c.Triggers != 0 {
		t.Fatalf("two runs %v apart: %+v; want more faults than the threshold in total and no trigger", cfg.Window, c)
	}
	run(t, high, 16)
	p := pressure(t, d, highClass)
	if counters(t, d, highClass).Triggers == 0 || p.LastTrigger == 0 || p.Until <= p.LastTrigger || p.Until-p.LastTrigger > cfg.Hold {
		t.Fatalf("pressure %+v after 4096 faults in one window; want a trigger held %v", p, cfg.Hold)
	}
	time.Sleep(2 * cfg.Hold)
	if p := pressure(t, d, highClass); p.Active {
		t.Fatalf("pressure %+v still active after twice its hold time", p)
	}
}

// TestDetachedCountsNothing: a detached detector's program does not run,
// so nothing is counted; attached again, it counts as before.
func TestDetachedCountsNothing(t *testing.T) {
	cfg := bpf.HighConfig{Threshold: 1000, Window: time.Second, Hold: time.Minute}
	d := newDetector(t, cfg, refLow())
	parent := testutil.ParentCgroup(t)
	high := child(t, parent, "high")
	addHigh(t, d, high, highClass)
	for range 2 { // detaching twice is detaching once
		if err := d.SetAttached(false); err != nil {
			t.Fatal(err)
		}
	}
	calls := tpCalls(t, d)
	run(t, high, 16)
	if c := counters(t, d, highClass); c.HighFaults != 0 || c.Triggers != 0 || tpCalls(t, d) != calls {
		t.Fatalf("detached: %+v, %d tracepoint calls; want nothing counted", c, tpCalls(t, d)-calls)
	}
	if err := d.SetAttached(true); err != nil {
		t.Fatal(err)
	}
	run(t, high, 16)
	if c := counters(t, d, highClass); c.HighFaults < 4096 || c.Triggers == 0 {
		t.Fatalf("attached again: %+v; want 4096 faults and a trigger", c)
	}
}
