package bpf_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/bpf"
	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/testutil"
	"golang.org/x/sys/unix"
)

// loadOps loads ops for role and class id and unloads them when t ends.
func loadOps(t testing.TB, d *bpf.Detector, role bpf.Role, id bpf.ClassID) *bpf.Ops {
	t.Helper()
	o, err := d.LoadOps(role, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := o.Close(); err != nil {
			t.Errorf("unload ops: %v", err)
		}
	})
	return o
}

// attachOps attaches o to g.
func attachOps(t testing.TB, o *bpf.Ops, g *cgroup.Group) (*bpf.Attachment, error) {
	t.Helper()
	dir, err := g.OpenDir()
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	return o.Attach(dir, 0)
}

// TestOpsAttachAgain: loaded ops attach, detach and attach again, and
// their hook runs exactly while they are attached.
func TestOpsAttachAgain(t *testing.T) {
	testutil.Require(t, testutil.MemcgOps)
	d := newDetector(t, refHigh(), bpf.LowConfig{YieldsTo: []bpf.ClassID{highClass}})
	lg := child(t, testutil.ParentCgroup(t), "low")
	o := loadOps(t, d, bpf.Low, lowClass)
	before := counters(t, d, lowClass)
	run(t, lg, 16)
	if c := counters(t, d, lowClass).Sub(before); c.DelayCalls != 0 {
		t.Fatalf("delay hook ran %d times with the ops loaded, not attached", c.DelayCalls)
	}
	for i := range 3 {
		a, err := attachOps(t, o, lg)
		if err != nil {
			t.Fatalf("attach %d: %v", i, err)
		}
		if a.CgroupID() != cgID(t, lg) || a.Class != lowClass || a.Role != bpf.Low {
			t.Errorf("attach %d: cgroup %d, class %d, role %s", i, a.CgroupID(), a.Class, a.Role)
		}
		if _, err := attachOps(t, o, lg); !errors.Is(err, bpf.ErrOpsInUse) {
			t.Errorf("attach %d twice: %v; want ErrOpsInUse", i, err)
		}
		if err := o.Close(); !errors.Is(err, bpf.ErrOpsInUse) {
			t.Errorf("unload while attached: %v; want ErrOpsInUse", err)
		}
		before = counters(t, d, lowClass)
		run(t, lg, 16)
		if c := counters(t, d, lowClass).Sub(before); c.DelayCalls == 0 {
			t.Fatalf("attach %d: the delay hook did not run", i)
		}
		if err := a.Close(); err != nil {
			t.Fatalf("detach %d: %v", i, err)
		}
		before = counters(t, d, lowClass)
		run(t, lg, 16)
		if c := counters(t, d, lowClass).Sub(before); c.DelayCalls != 0 {
			t.Fatalf("detach %d: the delay hook ran %d times", i, c.DelayCalls)
		}
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := attachOps(t, o, lg); !errors.Is(err, bpf.ErrClosed) {
		t.Errorf("attach after unload: %v; want ErrClosed", err)
	}
}

// BenchmarkLoadOps measures loading one member's ops (the verifier),
// the part of attaching that Ops.Attach no longer pays.
func BenchmarkLoadOps(b *testing.B) {
	testutil.Require(b, testutil.MemcgOps)
	d := newDetector(b, refHigh(), refLow())
	for _, role := range []bpf.Role{bpf.High, bpf.Low} {
		b.Run(role.String(), func(b *testing.B) {
			id := highClass
			if role == bpf.Low {
				id = lowClass
			}
			for b.Loop() {
				o, err := d.LoadOps(role, id)
				if err != nil {
					b.Fatal(err)
				}
				o.Close()
			}
		})
	}
}

// BenchmarkAttachOps measures attaching loaded ops to a cgroup and
// detaching them (BPF_LINK_CREATE, then BPF_LINK_DETACH and close), as
// the kernel backend does when contention comes near and goes.
func BenchmarkAttachOps(b *testing.B) {
	testutil.Require(b, testutil.MemcgOps)
	d := newDetector(b, refHigh(), refLow())
	lg := child(b, testutil.ParentCgroup(b), "low")
	o := loadOps(b, d, bpf.Low, lowClass)
	dir := openDir(b, lg)
	b.Run("attach", func(b *testing.B) { cycle(b, o, dir, true) })
	b.Run("detach", func(b *testing.B) { cycle(b, o, dir, false) })
}

// cycle attaches and detaches o at dir b.N times, timing the attach or
// the detach only.
func cycle(b *testing.B, o *bpf.Ops, dir *os.File, timeAttach bool) {
	var total time.Duration
	for range b.N {
		start := time.Now()
		a, err := o.Attach(dir, 0)
		if err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if err := a.Close(); err != nil {
			b.Fatal(err)
		}
		if timeAttach {
			total += mid.Sub(start)
		} else {
			total += time.Since(mid)
		}
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/op")
}

// BenchmarkChargeWithOps measures what LOW ops that answer no (no delay
// programmed: memqos's LOW ops away from contention) cost the charge
// path: this process, moved into a LOW cgroup, maps and touches 10 MiB
// and unmaps it, with the ops detached and attached in turn, and reports
// each arm's time per allocation and their ratio.
func BenchmarkChargeWithOps(b *testing.B) {
	testutil.Require(b, testutil.MemcgOps)
	d := newDetector(b, refHigh(), bpf.LowConfig{YieldsTo: []bpf.ClassID{highClass}})
	lg := child(b, testutil.ParentCgroup(b), "low")
	o := loadOps(b, d, bpf.Low, lowClass)
	dir := openDir(b, lg)
	enter(b, lg)
	before := counters(b, d, lowClass)
	var spent [2]time.Duration // detached, attached
	var n [2]int
	attachedAllocs := 0
	var a *bpf.Attachment
	defer func() {
		if a != nil {
			a.Close()
		}
	}()
	for i := range b.N {
		// Blocks of blockLen allocations per arm; the first of a block
		// is not counted: it pays for the switch (a detach ends with an
		// SRCU grace period, and the kernel frees the link after one).
		arm := i / blockLen % 2
		if i%blockLen == 0 {
			if err := switchOps(o, dir, &a, arm == 1); err != nil {
				b.Fatal(err)
			}
		}
		start := time.Now()
		buf, err := testutil.MapTouched(10 << 20)
		if err != nil {
			b.Fatal(err)
		}
		unix.Munmap(buf)
		attachedAllocs += arm
		if i%blockLen != 0 {
			spent[arm] += time.Since(start)
			n[arm]++
		}
	}
	if n[0] == 0 || n[1] == 0 {
		return
	}
	det, att := float64(spent[0].Nanoseconds())/float64(n[0]), float64(spent[1].Nanoseconds())/float64(n[1])
	b.ReportMetric(det, "ns/alloc-detached")
	b.ReportMetric(att, "ns/alloc-attached")
	b.ReportMetric(att/det, "attached/detached")
	b.ReportMetric(float64(counters(b, d, lowClass).Sub(before).DelayCalls)/float64(attachedAllocs), "hook-calls/alloc")
}

// blockLen is how many allocations BenchmarkChargeWithOps makes in a row
// with the ops attached, or detached.
const blockLen = 8

// switchOps attaches o at dir (on) or closes *a.
func switchOps(o *bpf.Ops, dir *os.File, a **bpf.Attachment, on bool) error {
	if !on {
		if *a == nil {
			return nil
		}
		err := (*a).Close()
		*a = nil
		return err
	}
	var err error
	*a, err = o.Attach(dir, 0)
	return err
}

// enter moves this process into g until b ends.
func enter(b *testing.B, g *cgroup.Group) {
	b.Helper()
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		b.Fatal(err)
	}
	home := strings.TrimSpace(strings.TrimPrefix(string(self), "0::"))
	if err := g.AddProc(os.Getpid()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := (&cgroup.FS{Root: cgroup.DefaultRoot}).Group(home).AddProc(os.Getpid()); err != nil {
			b.Errorf("move back to %s: %v", home, err)
		}
	})
}
