package report

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/memqos/memqos/internal/bench"
	"github.com/memqos/memqos/internal/trace/replay"
)

// t2 is Student's t for 2 degrees of freedom (three runs), 97.5th percentile.
const t2 = 4.302652730

func analyze(t *testing.T, r *bench.Results) *Summary {
	t.Helper()
	s, err := Analyze(r)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func armNamed(t *testing.T, s *Summary, name string) ArmSummary {
	t.Helper()
	for _, a := range s.Arms {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("no arm %q in %+v", name, s.Arms)
	return ArmSummary{}
}

func checkEstimate(t *testing.T, what string, got Estimate, mean, hw float64, n int) {
	t.Helper()
	if got.N != n || math.Abs(got.Mean-mean) > 1e-9 || !(math.Abs(got.HalfWidth-hw) <= 1e-6 || math.IsNaN(hw) && math.IsNaN(got.HalfWidth)) {
		t.Errorf("%s = %v ± %v (n=%d), want %v ± %v (n=%d)", what, got.Mean, got.HalfWidth, got.N, mean, hw, n)
	}
}

func TestAnalyzeIsolation(t *testing.T) {
	s := analyze(t, isolation(t, true))
	if len(s.Arms) != len(isolationArms) || len(s.Runs) != 3 {
		t.Fatalf("arms %d runs %v, want %d and 3 runs", len(s.Arms), s.Runs, len(isolationArms))
	}
	none, so, ref := armNamed(t, s, "none"), armNamed(t, s, "structops"), armNamed(t, s, "reference")

	// Against the same run's solo-high: 1.1, 1.2, 1.3 (sd 0.1).
	checkEstimate(t, "none HIGH slowdown", none.HighSlowdown, 1.2, t2*0.1/math.Sqrt(3), 3)
	checkEstimate(t, "structops HIGH slowdown", so.HighSlowdown, 1, 0, 3)
	checkEstimate(t, "reference HIGH slowdown", ref.HighSlowdown, 1.05, 0, 2)
	checkEstimate(t, "none LOW slowdown", none.LowSlowdown, 1.5, 0, 3)
	checkEstimate(t, "structops LOW slowdown", so.LowSlowdown, 2, 0, 3)

	// Allocation time (grow latencies summed) against the same run's
	// solo: structops HIGH 180/150; none HIGH (100r+500)/150; structops LOW
	// (7000/1100 + 3500/1100)/2.
	checkEstimate(t, "structops HIGH alloc time", so.HighAllocSlowdown, 1.2, 0, 3)
	checkEstimate(t, "none HIGH alloc time", none.HighAllocSlowdown, 700.0/150, t2*(100.0/150)/math.Sqrt(3), 3)
	checkEstimate(t, "structops LOW alloc time", so.LowAllocSlowdown, 10500.0/2200, 0, 3)

	// The OOM-killed LOW of run 1 counts against survival: 1/2, 1, 1.
	checkEstimate(t, "none LOW survival", none.LowSurvival, 5.0/6, t2*math.Sqrt(1.0/12)/math.Sqrt(3), 3)
	if none.LowCompleted != 5 || none.LowReplays != 6 {
		t.Errorf("none LOW survivors %d/%d, want 5/6", none.LowCompleted, none.LowReplays)
	}
	// reference's missing result is not a death: 3/3.
	if ref.LowCompleted != 3 || ref.LowReplays != 3 {
		t.Errorf("reference LOW survivors %d/%d, want 3/3", ref.LowCompleted, ref.LowReplays)
	}

	checkEstimate(t, "none HIGH wall", none.HighWallS, (11+24+39)/3.0, t2*stddev(11, 24, 39)/math.Sqrt(3), 3)
	checkEstimate(t, "none priority ratio", none.PriorityRatio, (30.0/11+60.0/24+90.0/39)/3,
		t2*stddev(30.0/11, 60.0/24, 90.0/39)/math.Sqrt(3), 3)
	// Work conservation: none's LOW wall over the strategy's, same run.
	checkEstimate(t, "structops throughput", so.Throughput, 0.75, 0, 3)
	checkEstimate(t, "reference throughput", ref.Throughput, 0.5, 0, 2)
	checkEstimate(t, "none throughput", none.Throughput, 1, 0, 3)

	if sl := armNamed(t, s, bench.SoloLow); sl.Throughput.OK() {
		t.Errorf("solo-low has a throughput %+v, want none for a baseline", sl.Throughput)
	}
	solo := armNamed(t, s, bench.SoloHigh)
	if !solo.Baseline || solo.HighSlowdown.OK() {
		t.Errorf("solo-high: baseline %v, slowdown %+v; want a baseline without slowdown", solo.Baseline, solo.HighSlowdown)
	}
}

func stddev(xs ...float64) float64 {
	var m, ss float64
	for _, x := range xs {
		m += x / float64(len(xs))
	}
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return math.Sqrt(ss / float64(len(xs)-1))
}

func TestAnalyzeNoThroughputWithoutHighIdle(t *testing.T) {
	s := analyze(t, isolation(t, false))
	if so := armNamed(t, s, "structops"); so.Throughput.OK() {
		t.Errorf("throughput %+v without high_idle, want none", so.Throughput)
	}
}

func TestAnalyzeLatencyEventsCounters(t *testing.T) {
	s := analyze(t, isolation(t, false))
	none := armNamed(t, s, "none")
	// HIGH grows 100·r, 200, 300 over three runs; the setup event is out.
	hi := none.Latency["high"]
	if hi.N != 9 || hi.P50 != 200 || hi.Max != 300 {
		t.Errorf("none HIGH latency %+v, want n=9 P50=200 max=300", hi)
	}
	// P95 of 100,200×4,300×4: h = 8·0.95 = 7.6 → 300.
	if hi.P95 != 300 {
		t.Errorf("none HIGH P95 = %v, want 300", hi.P95)
	}
	if e := none.Events["low"]; math.Abs(e.OOMKill-1.0/3) > 1e-12 || math.Abs(e.Max-1) > 1e-12 {
		t.Errorf("none LOW events %+v, want oom_kill 1/3, max 1 per run", e)
	}
	so := armNamed(t, s, "structops")
	want := map[string]float64{"low.delay_active": 20, "high.triggers": 2}
	if len(so.Counters) != len(want) || so.Counters["low.delay_active"] != 20 || so.Counters["high.triggers"] != 2 {
		t.Errorf("structops counters %v, want %v", so.Counters, want)
	}
}

func TestAnalyzeFailures(t *testing.T) {
	s := analyze(t, isolation(t, false))
	want := []Failure{
		{Run: 2, Arm: "reference", Problem: "arm failed: replay low-1: worker did not start"},
		{Run: 2, Arm: "reference", Member: "low-1", Problem: "no replay result"},
		{Run: 3, Arm: "reference", Problem: "arm missing"},
	}
	if len(s.Failures) != len(want) {
		t.Fatalf("failures %+v, want %+v", s.Failures, want)
	}
	for i := range want {
		if s.Failures[i] != want[i] {
			t.Errorf("failure %d = %+v, want %+v", i, s.Failures[i], want[i])
		}
	}
}

func TestAnalyzeOverhead(t *testing.T) {
	s := analyze(t, overhead(t))
	if len(s.Overhead) != 1 || s.Overhead[0].Name != "structops" {
		t.Fatalf("overhead %+v, want structops alone", s.Overhead)
	}
	d := map[string]Diff{}
	for _, m := range s.Overhead[0].Metrics {
		d[m.Metric] = m
	}
	hw := t2 / math.Sqrt(3) // sd of three consecutive integers is 1
	checkEstimate(t, "micro P50", d["micro P50 latency"].Pct, 11, hw, 3)
	checkEstimate(t, "micro P99", d["micro P99 latency"].Pct, 11, hw, 3)
	checkEstimate(t, "micro throughput none", d["micro throughput"].None, 10000, 0, 3)
	thr := []float64{100/1.1 - 100, 100/1.11 - 100, 100/1.12 - 100}
	checkEstimate(t, "micro throughput", d["micro throughput"].Pct, (thr[0]+thr[1]+thr[2])/3, t2*stddev(thr...)/math.Sqrt(3), 3)
	checkEstimate(t, "trace completion", d["trace completion"].Pct, 0, hw, 3)
	checkEstimate(t, "trace grow P95", d["trace grow P95 latency"].Pct, 0, 0, 3)
	if !d["trace completion"].InsideNoise() || d["micro P50 latency"].InsideNoise() {
		t.Errorf("inside the noise: trace %v micro %v, want true false",
			d["trace completion"].InsideNoise(), d["micro P50 latency"].InsideNoise())
	}
}

func TestEstimateOneValue(t *testing.T) {
	e := estimate([]float64{3})
	if e.N != 1 || !math.IsNaN(e.HalfWidth) || e.ContainsZero() {
		t.Errorf("estimate of one value %+v (contains zero %v), want NaN half-width, unknown", e, e.ContainsZero())
	}
	if estimate(nil).OK() {
		t.Error("estimate of nothing is OK")
	}
}

// TestIdleHighInterrupted: in the work-conservation scenario the bench
// interrupts the idle HIGH replay once LOW is done, which is no failure;
// elsewhere an interrupted HIGH is one.
func TestIdleHighInterrupted(t *testing.T) {
	for _, idle := range []bool{true, false} {
		m := isolationManifest(idle)
		m.Arms, m.Runs = []string{"none"}, 1
		r := writeResults(t, m, []arm{newArm(1, 0, "none", map[string]*replay.Result{
			"high-0": result(replay.Interrupted, 12),
			"low-0":  result(replay.Completed, 10, 100),
		}, "high-0", "low-0")})
		s := analyze(t, r)
		if got := len(s.Failures); got != map[bool]int{true: 0, false: 1}[idle] {
			t.Errorf("high_idle %v: failures %+v", idle, s.Failures)
		}
	}
}

// TestLowSlowdownNeedsSameTrace: a LOW session is compared only with the
// baseline's replay of its own trace.
func TestLowSlowdownNeedsSameTrace(t *testing.T) {
	m := isolationManifest(false)
	m.Arms, m.Runs = []string{"none", bench.SoloLow}, 1
	none := newArm(1, 0, "none", map[string]*replay.Result{
		"low-0": result(replay.Completed, 30, 100), "low-1": result(replay.Completed, 90, 100),
	}, "low-0", "low-1")
	none.Members[1].Trace = "builtin:other"
	solo := newArm(1, 1, bench.SoloLow, map[string]*replay.Result{"low-0": result(replay.Completed, 20, 100)}, "low-0")
	s := analyze(t, writeResults(t, m, []arm{none, solo}))
	checkEstimate(t, "LOW slowdown", armNamed(t, s, "none").LowSlowdown, 1.5, math.NaN(), 1)
}

func pairedNamed(t *testing.T, s *Summary, name string) Paired {
	t.Helper()
	for _, p := range s.Paired {
		if p.Strategy == name {
			return p
		}
	}
	t.Fatalf("no paired comparison for %q in %+v", name, s.Paired)
	return Paired{}
}

// TestPairedWithReference: differences are taken run by run, only in the
// runs that have both arms (runs 1 and 2: run 3 has no reference), and a
// verdict is given only where the interval excludes 0.
func TestPairedWithReference(t *testing.T) {
	s := analyze(t, isolation(t, false))
	so := pairedNamed(t, s, "structops")
	cells := map[string]PairedCell{}
	for _, c := range so.Cells {
		cells[c.Metric.Key] = c
	}
	// HIGH stall: structops 18 ms in every run, reference 8 ms.
	hs := cells["high_stall"]
	checkEstimate(t, "structops HIGH stall", hs.Strategy, 18, 0, 2)
	checkEstimate(t, "reference HIGH stall", hs.Reference, 8, 0, 2)
	checkEstimate(t, "HIGH stall difference", hs.Diff, 10, 0, 2)
	if hs.Verdict() != Worse {
		t.Errorf("HIGH stall +10 ± 0 ms: verdict %q, want worse", hs.Verdict())
	}
	// LOW wall: structops 2× solo-low, reference 3×: −100 points, better.
	if lw := cells["low_wall"]; lw.Verdict() != Better || math.Abs(lw.Diff.Mean+100) > 1e-9 {
		t.Errorf("LOW wall difference %+v, verdict %q; want −100, better", lw.Diff, lw.Verdict())
	}
	// LOW stall: structops 525 ms every run; reference (8000+7000)·0.1/2
	// = 750 in run 1, 800 in run 2 (its low-1 is missing): −225, −275.
	ls := cells["low_stall"]
	checkEstimate(t, "LOW stall difference", ls.Diff, -250, 12.7062047*stddev(-225, -275)/math.Sqrt(2), 2)
	if ls.Verdict() != Tie {
		t.Errorf("LOW stall −250 ± 318 ms: verdict %q, want tie", ls.Verdict())
	}
	if len(s.Paired) != 3 || s.Paired[0].Strategy != "none" {
		t.Errorf("paired strategies %+v, want none, static, structops", s.Paired)
	}
}

func TestVerdictNeedsTwoRuns(t *testing.T) {
	c := PairedCell{Metric: PairedMetrics[0], Diff: Estimate{Mean: -50, HalfWidth: math.NaN(), N: 1}}
	if c.Verdict() != NoVerdict {
		t.Errorf("one run: verdict %q, want none", c.Verdict())
	}
	c.Metric.LowerIsBetter = false
	c.Diff = Estimate{Mean: -50, HalfWidth: 10, N: 3}
	if c.Verdict() != Worse {
		t.Errorf("lower survival outside the interval: verdict %q, want worse", c.Verdict())
	}
}

// TestOutcomesNotFailures: an OOM-killed session of an isolation bench is
// an outcome of its strategy, HIGH or LOW, and never a failure; static's
// kill under a memory.max below the trace's peak is expected.
func TestOutcomesNotFailures(t *testing.T) {
	s := analyze(t, isolation(t, false))
	for _, f := range s.Failures {
		if strings.Contains(f.Problem, string(replay.OOMKilled)) {
			t.Errorf("an OOM kill listed as a failure: %+v", f)
		}
	}
	want := []Outcome{
		{Arm: "none", Class: "low", Killed: 1, Sessions: 6, KilledRuns: 1, Runs: 3},
		{Arm: "static", Class: "high", Killed: 3, Sessions: 3, KilledRuns: 3, Runs: 3, Expected: true, LimitBytes: 300_000_000, PeakBytes: 400_000_000},
	}
	if !reflect.DeepEqual(s.Outcomes, want) {
		t.Errorf("outcomes %+v, want %+v", s.Outcomes, want)
	}
	var buf bytes.Buffer
	if err := SummaryTable(&buf, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "static: 3 of 3 HIGH sessions OOM-killed, in 3 of 3 runs; its memory.max (300 MB) is below its peak (400 MB): as expected") {
		t.Errorf("summary does not say static's kill was expected:\n%s", buf.String())
	}
}

// TestDiscardedArmFailure: an arm lost to a guest crash is a failure that
// says so, not a mere missing arm.
func TestDiscardedArmFailure(t *testing.T) {
	r := isolation(t, false)
	r.Manifest.Discarded = []bench.DiscardedArm{{Run: 3, Name: "reference", Why: "guest kernel panic: Oops: int3"}}
	s := analyze(t, r)
	want := Failure{Run: 3, Arm: "reference", Problem: "arm discarded, the guest crashed: guest kernel panic: Oops: int3"}
	if len(s.Failures) != 3 || s.Failures[2] != want {
		t.Errorf("failures %+v; want the last %+v", s.Failures, want)
	}
}
