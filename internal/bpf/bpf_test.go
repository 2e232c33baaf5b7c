package bpf_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf/btf"
	"github.com/memqos/memqos/internal/bpf"
	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/kernel"
	"github.com/memqos/memqos/internal/testutil"
	"github.com/memqos/memqos/internal/thp"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { testutil.Main(m, helpers) }

var helpers = testutil.Helpers{
	// hold PATH: attach LOW ops to the cgroup at PATH, say so, and sleep.
	"hold": func(args []string) int {
		d, err := bpf.NewDetector()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		dir, err := os.Open(args[0])
		if err != nil {
			return 4
		}
		if _, err := d.Attach(bpf.Low, lowClass, dir, 0); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 5
		}
		fmt.Println("attached")
		time.Sleep(time.Hour)
		return 0
	},
	// huge MB NOTHP: map MB MiB 2 MiB-aligned with MADV_HUGEPAGE, after
	// disabling THP for the process if NOTHP is "1"; touch it and print
	// the AnonHugePages of the process in kB.
	"huge": func(args []string) int {
		mb, _ := strconv.Atoi(args[0])
		if args[1] == "1" {
			if err := thp.DisableForProcess(); err != nil {
				return 4
			}
		}
		_, kb, err := testutil.MapHuge(mb << 20)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		fmt.Println(kb)
		return 0
	},
	// touch MB: map and touch MB mebibytes of anonymous memory, then exit.
	"touch": func(args []string) int {
		mb, _ := strconv.Atoi(args[0])
		if _, err := testutil.MapTouched(mb << 20); err != nil {
			return 3
		}
		return 0
	},
}

// run runs the touch helper for mb MiB inside g and waits for it.
func run(t *testing.T, g *cgroup.Group, mb int) {
	t.Helper()
	cmd := testutil.HelperCommand(t, "touch", strconv.Itoa(mb))
	if err := g.Start(cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("touch %d MiB in %s: %v", mb, g.Name(), err)
	}
}

// The classes of tests with one HIGH and one LOW class.
const (
	highClass bpf.ClassID = 1
	lowClass  bpf.ClassID = 2
)

// refHigh and refLow are the reference policy (threshold 1, 2 s delay).
func refHigh() bpf.HighConfig {
	return bpf.HighConfig{Threshold: 1, Window: time.Second, Hold: time.Second, ProtectLow: true}
}

func refLow() bpf.LowConfig {
	return bpf.LowConfig{Delay: 2 * time.Second, YieldsTo: []bpf.ClassID{highClass}}
}

// newDetector loads a detector with highClass and lowClass configured
// with high and low, and closes it when t ends.
func newDetector(t testing.TB, high bpf.HighConfig, low bpf.LowConfig) *bpf.Detector {
	t.Helper()
	testutil.Require(t, testutil.Root, testutil.CgroupV2, testutil.BPF, testutil.Tracepoint)
	d, err := bpf.NewDetector()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	setHigh(t, d, highClass, high)
	if err := d.SetLow(lowClass, low); err != nil {
		t.Fatal(err)
	}
	return d
}

func setHigh(t testing.TB, d *bpf.Detector, id bpf.ClassID, cfg bpf.HighConfig) {
	t.Helper()
	if err := d.SetHigh(id, cfg); err != nil {
		t.Fatal(err)
	}
}

func addHigh(t *testing.T, d *bpf.Detector, g *cgroup.Group, id bpf.ClassID) {
	t.Helper()
	if err := d.AddHighCgroup(cgID(t, g), id); err != nil {
		t.Fatal(err)
	}
}

func pressure(t *testing.T, d *bpf.Detector, id bpf.ClassID) bpf.Pressure {
	t.Helper()
	p, err := d.Pressure(id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// child creates a group below parent, which must enable memory for it.
func child(t testing.TB, parent *cgroup.Group, name string) *cgroup.Group {
	t.Helper()
	g, err := (&cgroup.FS{Root: cgroup.DefaultRoot}).Create(parent.Name() + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func cgID(t *testing.T, g *cgroup.Group) uint64 {
	t.Helper()
	v, err := g.ID()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func counters(t testing.TB, d *bpf.Detector, id bpf.ClassID) bpf.Counters {
	t.Helper()
	c, err := d.Counters(id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func tpCalls(t *testing.T, d *bpf.Detector) uint64 {
	t.Helper()
	n, err := d.TracepointCalls()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDetectorCountsHighPageFaults(t *testing.T) {
	cfg := refHigh()
	cfg.Threshold = bpf.MaxThreshold // never triggers
	d := newDetector(t, cfg, refLow())
	parent := testutil.ParentCgroup(t)
	high, other := child(t, parent, "high"), child(t, parent, "other")
	addHigh(t, d, high, highClass)
	before, calls := counters(t, d, highClass), tpCalls(t, d)
	run(t, other, 16)
	afterOther := counters(t, d, highClass).Sub(before)
	if tpCalls(t, d) == calls || afterOther.HighFaults != 0 {
		t.Fatalf("a non-HIGH cgroup's faults: %+v; want tracepoint calls and no HIGH faults", afterOther)
	}
	run(t, high, 16)
	got := counters(t, d, highClass).Sub(before)
	// 16 MiB of 4 KiB pages is 4096 faults; the helper's own start adds some.
	if got.HighFaults < 4096 || got.Triggers != 0 {
		t.Fatalf("HIGH faults %d, triggers %d; want ≥ 4096 and 0", got.HighFaults, got.Triggers)
	}
	if p := pressure(t, d, highClass); p.Active {
		t.Fatalf("pressure %+v; want none below the threshold", p)
	}
	if c := counters(t, d, lowClass); c != (bpf.Counters{}) {
		t.Fatalf("LOW class counted HIGH's faults: %+v", c)
	}

	cfg.Threshold = 1000
	cfg.Hold = time.Minute
	setHigh(t, d, highClass, cfg)
	run(t, high, 16)
	if c := counters(t, d, highClass).Sub(before); c.Triggers == 0 {
		t.Fatalf("no trigger after 4096 faults with threshold 1000: %+v", c)
	}
	if p := pressure(t, d, highClass); !p.Active || p.LastTrigger == 0 || p.Until < p.LastTrigger+time.Minute {
		t.Fatalf("pressure %+v; want on for a minute after the trigger", p)
	}
	if err := d.RemoveHighCgroup(cgID(t, high)); err != nil {
		t.Fatal(err)
	}
	mid := counters(t, d, highClass)
	run(t, high, 8)
	if c := counters(t, d, highClass).Sub(mid); c.HighFaults != 0 {
		t.Fatalf("faults of a removed HIGH cgroup counted: %+v", c)
	}
}

func TestNoDetectorWithoutTracepoint(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.BPF)
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		t.Fatal(err)
	}
	if kernel.HasCountMemcgEvents(spec) {
		t.Skip("the kernel has count_memcg_events")
	}
	d, err := bpf.NewDetector()
	if err == nil {
		d.Close()
		t.Fatal("NewDetector succeeded without the count_memcg_events tracepoint")
	}
	if !errors.Is(err, kernel.ErrNotSupported) {
		t.Fatalf("got %v; want ErrNotSupported", err)
	}
}

func TestAttachRefusedWithoutMemcgOps(t *testing.T) {
	testutil.Require(t, testutil.NoMemcgOps)
	d := newDetector(t, refHigh(), refLow())
	dir := openDir(t, testutil.Cgroup(t))
	for role, id := range map[bpf.Role]bpf.ClassID{bpf.High: highClass, bpf.Low: lowClass} {
		a, err := d.Attach(role, id, dir, 0)
		if err == nil {
			a.Close()
			t.Fatalf("%s ops attached on a kernel without memcg_bpf_ops", role)
		}
		if !errors.Is(err, kernel.ErrNotSupported) {
			t.Errorf("%s: got %v; want ErrNotSupported", role, err)
		}
	}
}

// openDir opens g's directory, the fd that attaching ops takes, and
// closes it when t ends.
func openDir(t testing.TB, g *cgroup.Group) *os.File {
	t.Helper()
	dir, err := g.OpenDir()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	return dir
}

// attach attaches role to g for class id and detaches it when t ends.
func attach(t *testing.T, d *bpf.Detector, role bpf.Role, id bpf.ClassID, g *cgroup.Group, flags uint32) (*bpf.Attachment, error) {
	t.Helper()
	dir, err := g.OpenDir()
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	a, err := d.Attach(role, id, dir, flags)
	if err == nil {
		t.Cleanup(func() {
			if err := a.Close(); err != nil {
				t.Errorf("detach from %s: %v", g.Name(), err)
			}
		})
	}
	return a, err
}

func TestAttachDetachAndHooksFire(t *testing.T) {
	testutil.Require(t, testutil.MemcgOps)
	high := refHigh()
	high.Threshold = bpf.MaxThreshold
	low := bpf.LowConfig{Delay: 20 * time.Millisecond, YieldsTo: []bpf.ClassID{highClass}}
	d := newDetector(t, high, low)
	abi, err := d.ABI()
	if err != nil || (abi != kernel.ABIv6 && abi != kernel.ABIv7) {
		t.Fatalf("ABI %q, %v", abi, err)
	}
	parent := testutil.ParentCgroup(t)
	hg, lg := child(t, parent, "high"), child(t, parent, "low")
	if _, err := attach(t, d, bpf.High, highClass, hg, 0); err != nil {
		t.Fatal(err)
	}
	a, err := attach(t, d, bpf.Low, lowClass, lg, 0)
	if err != nil {
		t.Fatal(err)
	}
	if a.ABI != abi || a.Class != lowClass || a.CgroupID() != cgID(t, lg) {
		t.Errorf("attachment ABI %q, class %d, cgroup %d; want %q, %d, %d", a.ABI, a.Class, a.CgroupID(), abi, lowClass, cgID(t, lg))
	}
	before := counters(t, d, lowClass)
	run(t, lg, 16)
	c := counters(t, d, lowClass).Sub(before)
	if c.DelayCalls == 0 || c.DelayActive != 0 {
		t.Fatalf("LOW charges without pressure: %+v; want delay calls and no delays", c)
	}
	// Pressure: protection and delay turn on.
	high.Threshold = 0
	high.Hold = time.Minute
	setHigh(t, d, highClass, high)
	addHigh(t, d, hg, highClass)
	run(t, hg, 1)
	before = counters(t, d, lowClass)
	start := time.Now()
	run(t, lg, 4)
	c = counters(t, d, lowClass).Sub(before)
	if c.DelayActive == 0 || c.DelayMsTotal != c.DelayActive*20 {
		t.Fatalf("LOW charges under pressure: %+v; want delays of 20 ms", c)
	}
	t.Logf("LOW: %d delays of 20 ms while touching 4 MiB in %v", c.DelayActive, time.Since(start))
	// The delay is changeable while attached.
	low.Delay = 30 * time.Millisecond
	if err := d.SetLow(lowClass, low); err != nil {
		t.Fatal(err)
	}
	before = counters(t, d, lowClass)
	run(t, lg, 1)
	if c := counters(t, d, lowClass).Sub(before); c.DelayActive == 0 || c.DelayMsTotal != c.DelayActive*30 {
		t.Fatalf("LOW charges after SetLow to 30 ms: %+v", c)
	}
	// Detaching stops the hook.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	before = counters(t, d, lowClass)
	run(t, lg, 16)
	if c := counters(t, d, lowClass).Sub(before); c.DelayCalls != 0 {
		t.Fatalf("delay hook ran %d times after detach", c.DelayCalls)
	}
}

func TestBelowLowFiresUnderReclaim(t *testing.T) {
	testutil.Require(t, testutil.MemcgOps)
	// below_low protection is best effort: when reclaim cannot make
	// progress otherwise, the kernel reclaims protected memory too, so LOW
	// is not OOM-killed here (below_min would make HIGH unreclaimable).
	cfg := bpf.HighConfig{Threshold: 0, Window: time.Second, Hold: time.Minute, ProtectLow: true}
	d := newDetector(t, cfg, bpf.LowConfig{})
	high, low := reclaimPair(t)
	if _, err := attach(t, d, bpf.High, highClass, high, 0); err != nil {
		t.Fatal(err)
	}
	addHigh(t, d, high, highClass)
	// HIGH holds 24 MiB of page cache on a real disk; LOW's anonymous
	// memory then forces reclaim in the parent, which consults below_low
	// and below_min for HIGH.
	dir := testutil.ScratchDir(t)
	f := dir + "/high.data"
	cmd := exec.Command("dd", "if=/dev/zero", "of="+f, "bs=1M", "count=24", "conv=fsync")
	if err := high.Start(cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	before := counters(t, d, highClass)
	run(t, low, 48)
	c := counters(t, d, highClass).Sub(before)
	if c.BelowLowCalls == 0 || c.BelowMinCalls == 0 {
		t.Fatalf("no below_low/below_min calls under reclaim: %+v", c)
	}
	if c.BelowLowActive == 0 || c.BelowMinActive != 0 {
		t.Fatalf("HIGH was never protected while under pressure: %+v", c)
	}
	t.Logf("under reclaim: %+v", c)
}

func TestOverrideRules(t *testing.T) {
	testutil.Require(t, testutil.MemcgOps)
	d := newDetector(t, refHigh(), refLow())
	top := testutil.ParentCgroup(t)
	mid := child(t, top, "cg")
	if err := mid.EnableControllers("memory"); err != nil {
		t.Fatal(err)
	}
	leaf := child(t, mid, "cg")
	if err := leaf.EnableControllers("memory"); err != nil {
		t.Fatal(err)
	}
	if _, err := attach(t, d, bpf.Low, lowClass, top, bpf.FlagAllowOverride); err != nil {
		t.Fatalf("attach to the top with ALLOW_OVERRIDE: %v", err)
	}
	if _, err := attach(t, d, bpf.Low, lowClass, mid, 0); err != nil {
		t.Fatalf("attach below an ALLOW_OVERRIDE parent: %v", err)
	}
	_, err := attach(t, d, bpf.Low, lowClass, leaf, 0)
	var ae *bpf.AttachError
	if !errors.As(err, &ae) || !errors.Is(err, unix.EBUSY) {
		t.Fatalf("attach below a parent without ALLOW_OVERRIDE: %v; want EBUSY", err)
	}
	t.Logf("as expected: %v", err)
}

func TestNoOverrideWithoutFlag(t *testing.T) {
	testutil.Require(t, testutil.MemcgOps)
	d := newDetector(t, refHigh(), refLow())
	top := testutil.ParentCgroup(t)
	sub := child(t, top, "sub")
	if _, err := attach(t, d, bpf.High, highClass, top, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := attach(t, d, bpf.Low, lowClass, sub, 0); !errors.Is(err, unix.EBUSY) {
		t.Fatalf("override of inherited ops without ALLOW_OVERRIDE: %v; want EBUSY", err)
	}
}

// TestTHPGap measures how the charge delay treats THP-backed memory, and
// that disabling THP for a LOW workload makes the delay apply. The kernel
// charges THP faults with non-blocking gfp and never delays them.
func TestTHPGap(t *testing.T) {
	testutil.Require(t, testutil.MemcgOps)
	if mode, err := thp.Mode(""); err != nil || mode == "never" {
		t.Fatalf("THP mode %q, %v: cannot measure the THP gap", mode, err)
	}
	d := newDetector(t, bpf.HighConfig{Threshold: 0, Window: time.Second, Hold: time.Hour},
		bpf.LowConfig{Delay: 20 * time.Millisecond, YieldsTo: []bpf.ClassID{highClass}})
	parent := testutil.ParentCgroup(t)
	high, low := child(t, parent, "high"), child(t, parent, "low")
	if _, err := attach(t, d, bpf.Low, lowClass, low, 0); err != nil {
		t.Fatal(err)
	}
	addHigh(t, d, high, highClass)
	run(t, high, 1) // HIGH under pressure for the rest of the test
	type measure struct {
		hugeKB  int
		c       bpf.Counters
		stall   time.Duration
		elapsed time.Duration
	}
	measureOne := func(noTHP string) measure {
		before := counters(t, d, lowClass)
		psi0, err := low.MemoryPressure()
		if err != nil {
			t.Fatal(err)
		}
		cmd := testutil.HelperCommand(t, "huge", "32", noTHP)
		var out strings.Builder
		cmd.Stdout = &out
		start := time.Now()
		if err := low.Start(cmd); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
		m := measure{c: counters(t, d, lowClass).Sub(before), elapsed: time.Since(start)}
		psi, _ := low.MemoryPressure()
		m.stall = psi.Some.Total - psi0.Some.Total
		m.hugeKB, _ = strconv.Atoi(strings.TrimSpace(out.String()))
		return m
	}
	withTHP, without := measureOne("0"), measureOne("1")
	for name, m := range map[string]measure{"THP": withTHP, "THP disabled": without} {
		t.Logf("LOW touching 32 MiB, %s: AnonHugePages %d kB, delay hook calls %d, delays %d, LOW memory stall %v, wall %v",
			name, m.hugeKB, m.c.DelayCalls, m.c.DelayActive, m.stall, m.elapsed)
	}
	if withTHP.hugeKB == 0 || without.hugeKB != 0 {
		t.Fatalf("AnonHugePages %d kB with THP and %d kB without; the measurement needs THP in the first run only", withTHP.hugeKB, without.hugeKB)
	}
	if without.c.DelayActive == 0 || without.stall < time.Duration(without.c.DelayActive)*10*time.Millisecond {
		t.Fatalf("THP disabled: %d delays and %v stall; want LOW delayed", without.c.DelayActive, without.stall)
	}
	if withTHP.stall >= without.stall {
		t.Fatalf("LOW stalled %v with THP and %v without; the gap this test measures is gone", withTHP.stall, without.stall)
	}
}

// TestKilledOwnerLeavesNoOps checks that ops attached by a process that is
// SIGKILLed are detached by the kernel (links are not pinned), so a crashed
// memqos never leaves a cgroup throttled: attaching again without
// ALLOW_OVERRIDE must succeed.
func TestKilledOwnerLeavesNoOps(t *testing.T) {
	testutil.Require(t, testutil.MemcgOps)
	d := newDetector(t, refHigh(), refLow())
	parent := testutil.ParentCgroup(t)
	low := child(t, parent, "low")
	cmd := testutil.HelperCommand(t, "hold", low.Path())
	cmd.Stdout = nil
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 9)
	if _, err := io.ReadFull(out, line); err != nil || string(line) != "attached\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("holder: %q, %v", line, err)
	}
	if _, err := attach(t, d, bpf.Low, lowClass, low, 0); !errors.Is(err, unix.EBUSY) {
		t.Fatalf("attach while another process holds ops: %v; want EBUSY", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	var last error
	for i := 0; i < 100; i++ { // link release after exit is asynchronous
		if _, last = attach(t, d, bpf.Low, lowClass, low, 0); last == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("attach after the holder was killed: %v; its ops were left behind", last)
}

// reclaimPair makes a parent limited to 64 MiB without swap, with a HIGH
// and a LOW child: memory either takes there is reclaimed from the other.
func reclaimPair(t *testing.T) (high, low *cgroup.Group) {
	t.Helper()
	parent := testutil.Cgroup(t)
	for _, err := range []error{
		parent.EnableControllers("memory"),
		parent.SetLimit(cgroup.MemoryMax, 64<<20),
		parent.SetLimit(cgroup.MemorySwapMax, 0),
	} {
		if err != nil && !errors.Is(err, cgroup.ErrControllerNotEnabled) {
			t.Fatal(err)
		}
	}
	return child(t, parent, "high"), child(t, parent, "low")
}
