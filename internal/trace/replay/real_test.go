package replay

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/testutil"
	"github.com/memqos/memqos/internal/trace"
)

// The tests in this file need root and a real cgroup v2; they run for real
// in the guest suite.

const (
	daskTrace = "dask__dask-11628"
	base100MB = 100_000_000 // decimal, like the traces
)

func realOptions(t *testing.T, name string) Options {
	t.Helper()
	testutil.Require(t, testutil.Root, testutil.CgroupV2)
	tr, err := trace.Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	return Options{
		FS: &cgroup.FS{Root: cgroup.DefaultRoot}, Trace: tr, Speed: 50, Base: base100MB,
		Command: func(args []string) *exec.Cmd { return testutil.HelperCommand(t, "worker", args...) },
	}
}

func runReal(t *testing.T, ctx context.Context, o Options) *Result {
	t.Helper()
	res, err := Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	brief := *res
	brief.Events = nil // the per-sample list is long; the summaries tell
	b, _ := json.Marshal(brief)
	t.Logf("result without events: %s", b)
	return res
}

// TestRealReplayFidelity is the acceptance (a): the dask trace at
// 50× with a 100 MB base, under ample memory, completes, with every byte
// of the trace replayed exactly.
//
// Its fidelity is logged, not asserted: under TCG the guest zeroes and
// charges pages slowly (the first grow, 174 MB, took 0.4–0.9 s in the
// guest suite), so at 50× the worker's own latencies may not fit the
// schedule, and whether they do depends on the host's load. The schedule
// itself is checked by TestRealReplayFidelityAt10x, where the worker
// keeps up on average, and by the host-tier schedule tests.
func TestRealReplayFidelity(t *testing.T) {
	o := realOptions(t, daskTrace)
	res := runReal(t, context.Background(), o)
	t.Logf("50×: setup %.3f s; wall %.3f s for %.3f s scheduled: fidelity %.4f; latency bound %.3f s; lateness max %.0f µs, mean %.0f µs, %d late; grow P50 %.0f µs, P99 %.0f µs",
		res.SetupS, res.WallS, res.ScheduledS, res.Fidelity, res.LatencyBoundS, res.Lateness.MaxUS, res.Lateness.MeanUS,
		res.Lateness.LateSamples, res.Latency.Grow.P50, res.Latency.Grow.P99)
	if res.Status != Completed || res.Exit.Code != 0 || res.SamplesReplayed != len(o.Trace.Samples) {
		t.Fatalf("status %s, exit %+v, %d/%d samples: %s", res.Status, res.Exit, res.SamplesReplayed, res.Samples, res.Error)
	}
	if res.Fidelity < 0.999 {
		t.Errorf("fidelity %.4f: the replay ended before its schedule", res.Fidelity)
	}
	// Trace bytes are used exactly: 320.9 MB + 100 MB, rounded up to a page.
	want := Pages(320_900_000+base100MB, res.PageSize) * res.PageSize
	if res.TargetPeakBytes != 320_900_000+base100MB || res.PeakFootprintBytes != want {
		t.Errorf("target peak %d, footprint peak %d; want 420900000, %d", res.TargetPeakBytes, res.PeakFootprintBytes, want)
	}
	if res.CgroupPeakBytes < uint64(want) || res.CgroupPeakBytes > uint64(want)+64<<20 {
		t.Errorf("cgroup memory.peak %d; want the footprint %d plus the worker's runtime", res.CgroupPeakBytes, want)
	}
	// Every sample is an event; sample 0's is the setup, which no latency
	// summary counts.
	if n := res.Latency.All.Count + res.Latency.Holds; n != res.Samples-1 || len(res.Events) != res.Samples || res.Events[0].Kind != "setup" {
		t.Errorf("%d latencies and holds, %d events for %d samples", n, len(res.Events), res.Samples)
	}
	if o.FS.Group(res.Cgroup).Exists() {
		t.Errorf("replay cgroup %s left behind", res.Cgroup)
	}
}

// TestRealReplayFidelityAt10x replays the same trace where TCG keeps up
// on average: late samples catch up, and the replay ends within a few
// percent of duration/speed.
func TestRealReplayFidelityAt10x(t *testing.T) {
	o := realOptions(t, daskTrace)
	o.Speed = 10
	res := runReal(t, context.Background(), o)
	t.Logf("10×: wall %.3f s for %.3f s scheduled: fidelity %.4f; lateness max %.0f µs", res.WallS, res.ScheduledS, res.Fidelity, res.Lateness.MaxUS)
	if res.Status != Completed || res.Fidelity < 0.999 || res.Fidelity > 1.05 {
		t.Fatalf("status %s, fidelity %.4f; want completed within 5 %% of the schedule", res.Status, res.Fidelity)
	}
}

// TestRealReplayOOM is the acceptance (b): under a memory.max
// below the trace's peak the worker is OOM-killed, and the controller,
// outside the group, reports it.
func TestRealReplayOOM(t *testing.T) {
	o := realOptions(t, daskTrace)
	g := testutil.Cgroup(t)
	if err := g.SetLimit(cgroup.MemoryMax, 200_000_000); err != nil {
		t.Fatal(err)
	}
	if err := g.SetLimit(cgroup.MemorySwapMax, 0); err != nil && !errors.Is(err, cgroup.ErrControllerNotEnabled) {
		t.Fatal(err)
	}
	o.Group = g.Name()
	res := runReal(t, context.Background(), o)
	if res.Status != OOMKilled || !res.OOMKilled || res.Exit.Signal != "SIGKILL" || res.OOMKillDelta < 1 {
		t.Fatalf("status %s, oom_killed %v, exit %+v, oom_kill delta %d; want an OOM kill", res.Status, res.OOMKilled, res.Exit, res.OOMKillDelta)
	}
	if res.Exit.Code == 0 || res.SamplesReplayed >= res.Samples || res.Error == "" {
		t.Errorf("exit %+v, %d/%d samples, error %q", res.Exit, res.SamplesReplayed, res.Samples, res.Error)
	}
	if !g.Exists() {
		t.Error("replay removed a group it did not create")
	}
}

// TestRealReplayInterrupted cancels a slow replay: the worker is stopped
// and the result says so.
func TestRealReplayInterrupted(t *testing.T) {
	o := realOptions(t, daskTrace)
	o.Speed, o.NoTHP = 1, true
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	res := runReal(t, ctx, o)
	if res.Status != Interrupted || res.SamplesReplayed == 0 || res.SamplesReplayed >= res.Samples {
		t.Fatalf("status %s after %d/%d samples; want interrupted midway", res.Status, res.SamplesReplayed, res.Samples)
	}
	if o.FS.Group(res.Cgroup).Exists() {
		t.Errorf("replay cgroup %s left behind", res.Cgroup)
	}
}

func TestRealReplayNoTHP(t *testing.T) {
	o := realOptions(t, "sigmavirus24__github3.py-673")
	o.NoTHP, o.Speed = true, 100
	report := filepath.Join(t.TempDir(), "thp")
	o.Command = func(args []string) *exec.Cmd {
		c := testutil.HelperCommand(t, "worker-thp", args...)
		c.Env = append(c.Env, envTHPFile+"="+report)
		return c
	}
	res := runReal(t, context.Background(), o)
	if res.Status != Completed || !res.NoTHP {
		t.Fatalf("status %s: %s", res.Status, res.Error)
	}
	if b, err := os.ReadFile(report); err != nil || string(b) != "true" {
		t.Errorf("THP disabled in the worker: %q, %v; want true", b, err)
	}
	t.Logf("fidelity %.4f, cgroup peak %d, footprint peak %d", res.Fidelity, res.CgroupPeakBytes, res.PeakFootprintBytes)
}

// TestRealWorkerNoTHP starts the worker with WorkerArgs(noTHP) and reads,
// once it is ready, whether the kernel has THP disabled for it: exactly
// when noTHP is set. The test binary itself has THP enabled (disableTHP
// restores it), so the worker does not inherit the answer.
func TestRealWorkerNoTHP(t *testing.T) {
	for _, noTHP := range []bool{true, false} {
		t.Run(strconv.FormatBool(noTHP), func(t *testing.T) {
			cmd := testutil.HelperCommand(t, "worker", WorkerArgs(noTHP)...)
			cmd.Stdout = nil
			input, stdin := io.Pipe() // the worker waits for input until stdin closes
			cmd.Stdin = input
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil || line != "R "+itoa(os.Getpagesize())+"\n" {
				t.Errorf("worker said %q, %v; want a ready line", line, err)
			}
			enabled := thpEnabled(t, cmd.Process.Pid)
			stdin.Close()
			if err := cmd.Wait(); err != nil {
				t.Errorf("worker: %v", err)
			}
			if enabled == noTHP {
				t.Errorf("worker with WorkerArgs(%v): THP_enabled %v", noTHP, enabled)
			}
		})
	}
}

// thpEnabled reads the THP_enabled line of process pid's status: false
// when PR_SET_THP_DISABLE is in force for it.
func thpEnabled(t *testing.T, pid int) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/" + itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "THP_enabled:"); ok {
			return strings.TrimSpace(v) == "1"
		}
	}
	t.Skip("no THP_enabled in /proc/PID/status: a kernel without THP")
	return false
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestRealReplayStall pins the kernel counters the bench compares
// strategies by: a replay throttled on purpose (memory.high well below
// its peak, no swap) shows memory stall and high events, and the same
// replay left alone shows no stall and no reclaim at all.
func TestRealReplayStall(t *testing.T) {
	testutil.Require(t, testutil.PSI)
	t.Run("alone", func(t *testing.T) {
		o := realOptions(t, daskTrace)
		o.NoTHP = true
		res := runReal(t, context.Background(), o)
		k := res.Kernel
		if res.Status != Completed || k == nil || k.Stall == nil {
			t.Fatalf("status %s, kernel counters %+v; want a completed replay with its stall", res.Status, k)
		}
		t.Logf("alone: stall some %d µs, full %d µs; %v", k.Stall.SomeUS, k.Stall.FullUS, k.Stat)
		if k.Stall.SomeUS != 0 || k.Stat["pgscan"] != 0 {
			t.Errorf("a replay with all the memory it wants stalled %d µs and scanned %d pages", k.Stall.SomeUS, k.Stat["pgscan"])
		}
	})
	t.Run("throttled", func(t *testing.T) {
		o := realOptions(t, daskTrace)
		o.NoTHP = true
		g := testutil.Cgroup(t)
		if err := g.SetLimit(cgroup.MemoryHigh, 250_000_000); err != nil {
			t.Fatal(err)
		}
		if err := g.SetLimit(cgroup.MemorySwapMax, 0); err != nil && !errors.Is(err, cgroup.ErrControllerNotEnabled) {
			t.Fatal(err)
		}
		o.Group = g.Name()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		res := runReal(t, ctx, o)
		k := res.Kernel
		if k == nil || k.Stall == nil {
			t.Fatalf("status %s: no kernel counters (%s)", res.Status, res.Error)
		}
		t.Logf("throttled (%s): stall some %d µs, full %d µs; %v; high events %d", res.Status, k.Stall.SomeUS, k.Stall.FullUS, k.Stat, res.MemoryEventsDelta.High)
		if k.Stall.SomeUS == 0 || res.MemoryEventsDelta.High == 0 {
			t.Errorf("throttled at 250 MB below a 420 MB peak, the replay shows %d µs of stall and %d high events", k.Stall.SomeUS, res.MemoryEventsDelta.High)
		}
	})
}
