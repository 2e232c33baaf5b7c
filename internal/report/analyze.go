package report

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/memqos/memqos/internal/bench"
	"github.com/memqos/memqos/internal/stats"
	"github.com/memqos/memqos/internal/trace/replay"
)

// Classes are the session classes, in report order.
var Classes = []string{"high", "low"}

// Summary is what Analyze makes of a results directory.
type Summary struct {
	Kind bench.Kind
	// Runs are the run numbers that have at least one arm.
	Runs []int
	// Arms are every arm of an isolation bench (strategies then
	// baselines), in the manifest's order; empty for an overhead bench.
	Arms []ArmSummary
	// Overhead compares each daemon strategy with "none" (overhead bench).
	Overhead []Overhead
	// Paired compares each strategy with the reference, run by run
	// (isolation bench with a reference arm).
	Paired []Paired
	// Outcomes are what happened to sessions that did not complete but
	// did not fail either: OOM kills, which are results of a strategy.
	Outcomes []Outcome
	// Failures are the arms, replays and daemons that did not run as
	// planned, by run: missing arms first, then in the order the arms ran.
	Failures []Failure
}

// Estimate is a mean over N values with its 95 % confidence interval,
// mean ± HalfWidth. N == 0 means no data; HalfWidth is NaN when N == 1.
type Estimate struct {
	Mean, HalfWidth float64
	N               int
}

// OK reports whether the estimate has data.
func (e Estimate) OK() bool { return e.N > 0 }

// ContainsZero reports whether the confidence interval contains 0; false
// when it is unknown (fewer than two values).
func (e Estimate) ContainsZero() bool {
	return e.N > 1 && !math.IsNaN(e.HalfWidth) && math.Abs(e.Mean) <= e.HalfWidth
}

// ArmSummary is one arm (a strategy or a baseline) across runs.
type ArmSummary struct {
	Name     string
	Baseline bool
	// HighSlowdown is HIGH's wall time over its wall time in solo-high.
	HighSlowdown Estimate
	// LowSurvival is the fraction of LOW replays that completed;
	// LowCompleted of LowReplays over all runs.
	LowSurvival              Estimate
	LowCompleted, LowReplays int
	// LowSlowdown is a completed LOW's wall time over solo-low's.
	LowSlowdown Estimate
	// HighAllocSlowdown and LowAllocSlowdown compare allocation time
	// (allocTime) the same way: what the sessions' memory cost them even
	// when the schedule, not the machine, set their wall time.
	HighAllocSlowdown, LowAllocSlowdown Estimate
	// HighWallS and LowWallS are the completed replays' wall times.
	HighWallS, LowWallS Estimate
	// PriorityRatio is LowWallS / HighWallS per run.
	PriorityRatio Estimate
	// Throughput is none's LOW wall time over this arm's (work
	// conservation scenario only).
	Throughput Estimate
	// HighStallMS and LowStallMS are the class's memory stall: per run,
	// the mean over the class's sessions of their memory.pressure "some"
	// increase, in ms. CPU contention cannot move it.
	HighStallMS, LowStallMS Estimate
	// Memory are the kernel's counters by class, per session.
	Memory map[string]Memory
	// Latency is the grow events' latency by class, pooled over runs.
	Latency map[string]Latency
	// Events are the members' memory.events deltas by class, summed over
	// the class, averaged over runs.
	Events map[string]Events
	// Counters are the daemon's trigger and delay counters, averaged over
	// the runs that reported them.
	Counters map[string]float64
}

// Latency describes the grow events' latencies, in µs.
type Latency struct {
	N                  int
	P50, P95, P99, Max float64
	// sorted are the pooled latencies, ascending, for the CDF plot.
	sorted []float64
}

// Events are memory.events deltas, per run.
type Events struct {
	High, Max, OOM, OOMKill float64
}

// Failure is something that did not run as planned.
type Failure struct {
	Run     int
	Arm     string
	Member  string // empty for the arm or its daemon
	Problem string
}

// Analyze computes the summary of a loaded results directory. Missing arms
// and replays are counted as failures and leave estimates without data;
// Analyze fails only on a kind it does not know.
func Analyze(r *bench.Results) (*Summary, error) {
	s := &Summary{Kind: r.Manifest.Kind, Runs: runs(r)}
	idx := index(r)
	s.Failures = failures(r, idx)
	switch r.Manifest.Kind {
	case bench.KindIsolation:
		for _, name := range r.Manifest.Arms {
			s.Arms = append(s.Arms, analyzeArm(r, idx, s.Runs, name))
		}
		s.Paired = pairedWithReference(r, idx, s.Runs)
		s.Outcomes = outcomes(r, idx, s.Runs)
	case bench.KindOverhead:
		for _, name := range r.Manifest.Arms {
			if name != none {
				s.Overhead = append(s.Overhead, analyzeOverhead(idx, s.Runs, name))
			}
		}
	default:
		return nil, fmt.Errorf("analyze %s: unknown kind %q", r.Dir, r.Manifest.Kind)
	}
	return s, nil
}

const none = "none"

// armIndex finds an arm by run and name.
type armIndex map[int]map[string]*bench.LoadedArm

func index(r *bench.Results) armIndex {
	idx := armIndex{}
	for _, a := range r.Arms {
		if idx[a.Run] == nil {
			idx[a.Run] = map[string]*bench.LoadedArm{}
		}
		idx[a.Run][a.Name] = a
	}
	return idx
}

func runs(r *bench.Results) []int {
	var rs []int
	for _, a := range r.Arms {
		if !slices.Contains(rs, a.Run) {
			rs = append(rs, a.Run)
		}
	}
	slices.Sort(rs)
	return rs
}

func isBaseline(name string) bool { return name == bench.SoloHigh || name == bench.SoloLow }

func analyzeArm(r *bench.Results, idx armIndex, rs []int, name string) ArmSummary {
	as := ArmSummary{Name: name, Baseline: isBaseline(name), Latency: map[string]Latency{},
		Events: map[string]Events{}, Memory: map[string]Memory{}, Counters: map[string]float64{}}
	var hs, ls, has, las, surv, hw, lw, prio, thr, hst, lst []float64
	for _, run := range rs {
		a := idx[run][name]
		if a == nil {
			continue
		}
		if !as.Baseline {
			v, ok := meanRatio(a, idx[run][bench.SoloHigh], "high", wallTime)
			appendIf(&hs, v, ok)
			v, ok = meanRatio(a, idx[run][bench.SoloLow], "low", wallTime)
			appendIf(&ls, v, ok)
			v, ok = meanRatio(a, idx[run][bench.SoloHigh], "high", allocTime)
			appendIf(&has, v, ok)
			v, ok = meanRatio(a, idx[run][bench.SoloLow], "low", allocTime)
			appendIf(&las, v, ok)
		}
		v, ok := meanStallMS(a, "high")
		appendIf(&hst, v, ok)
		v, ok = meanStallMS(a, "low")
		appendIf(&lst, v, ok)
		k, n := survivors(a)
		as.LowCompleted += k
		as.LowReplays += n
		if n > 0 {
			surv = append(surv, float64(k)/float64(n))
		}
		h, hok := meanWall(a, "high")
		l, lok := meanWall(a, "low")
		appendIf(&hw, h, hok)
		appendIf(&lw, l, lok)
		appendIf(&prio, l/h, hok && lok)
		if nl, ok := meanWall(idx[run][none], "low"); ok && lok && r.Manifest.Scenario.HighIdle && !as.Baseline {
			thr = append(thr, nl/l)
		}
	}
	as.HighSlowdown, as.LowSlowdown, as.LowSurvival = estimate(hs), estimate(ls), estimate(surv)
	as.HighAllocSlowdown, as.LowAllocSlowdown = estimate(has), estimate(las)
	as.HighStallMS, as.LowStallMS = estimate(hst), estimate(lst)
	as.HighWallS, as.LowWallS, as.PriorityRatio, as.Throughput = estimate(hw), estimate(lw), estimate(prio), estimate(thr)
	arms := armsNamed(idx, rs, name)
	for _, c := range Classes {
		as.Latency[c] = latencyOf(growLatencies(arms, c))
		as.Events[c] = eventsOf(arms, c)
		as.Memory[c] = memoryOf(arms, c)
	}
	as.Counters = countersOf(arms)
	return as
}

func appendIf(xs *[]float64, x float64, ok bool) {
	if ok {
		*xs = append(*xs, x)
	}
}

func armsNamed(idx armIndex, rs []int, name string) []*bench.LoadedArm {
	var arms []*bench.LoadedArm
	for _, run := range rs {
		if a := idx[run][name]; a != nil {
			arms = append(arms, a)
		}
	}
	return arms
}

// estimate is stats.MeanCI, with no data for no values.
func estimate(xs []float64) Estimate {
	m, hw, err := stats.MeanCI(xs)
	if err != nil {
		return Estimate{HalfWidth: math.NaN()}
	}
	return Estimate{Mean: m, HalfWidth: hw, N: len(xs)}
}

// completed returns the member's replay when it completed.
func completed(a *bench.LoadedArm, member string) (*replay.Result, bool) {
	if a == nil {
		return nil, false
	}
	res := a.Replays[member]
	return res, res != nil && res.Status == replay.Completed
}

// partner is the member of base that m is compared with: the one of the
// same name replaying the same trace, else the first of m's class that
// replays m's trace; "" if there is none (a LOW session whose trace the
// baseline did not replay has no slowdown).
func partner(base *bench.LoadedArm, m bench.Member) string {
	if base == nil {
		return ""
	}
	for _, b := range base.Members {
		if b.Name == m.Name && b.Trace == m.Trace {
			return b.Name
		}
	}
	for _, b := range base.Members {
		if b.Class == m.Class && b.Trace == m.Trace {
			return b.Name
		}
	}
	return ""
}

// meanRatio is the mean over a's completed members of class of their
// metric over their partner's in base, the same run's baseline.
func meanRatio(a, base *bench.LoadedArm, class string, metric func(*replay.Result) float64) (float64, bool) {
	var xs []float64
	for _, m := range a.Members {
		res, ok := completed(a, m.Name)
		ref, rok := completed(base, partner(base, m))
		if m.Class == class && ok && rok && metric(ref) > 0 {
			xs = append(xs, metric(res)/metric(ref))
		}
	}
	return meanOf(xs)
}

// wallTime is a replay's wall time, in seconds.
func wallTime(r *replay.Result) float64 { return r.WallS }

// allocTime is the time a replay spent changing its footprint: the sum of
// its grow and shrink events' latencies (the setup excluded), in µs. When
// a replay keeps its schedule, its wall time is the schedule's, and this
// is what memory pressure and throttling still cost it.
func allocTime(r *replay.Result) float64 {
	var t float64
	for _, e := range r.Events {
		if e.Kind == "grow" || e.Kind == "shrink" {
			t += e.LatencyUS
		}
	}
	return t
}

// meanWall is the mean wall time of a's completed members of class.
func meanWall(a *bench.LoadedArm, class string) (float64, bool) {
	return meanOfClass(a, class, func(member string) (float64, bool) {
		res, ok := completed(a, member)
		if !ok {
			return 0, false
		}
		return res.WallS, true
	})
}

// meanOfClass is the mean of value over a's members of class that have
// one; none for a nil arm.
func meanOfClass(a *bench.LoadedArm, class string, value func(member string) (float64, bool)) (float64, bool) {
	if a == nil {
		return 0, false
	}
	var xs []float64
	for _, m := range a.Members {
		if m.Class != class {
			continue
		}
		v, ok := value(m.Name)
		appendIf(&xs, v, ok)
	}
	return meanOf(xs)
}

func meanOf(xs []float64) (float64, bool) {
	if len(xs) == 0 {
		return 0, false
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs)), true
}

// survivors counts a's LOW replays that completed, k, of those that have a
// result, n.
func survivors(a *bench.LoadedArm) (k, n int) {
	for _, m := range a.Members {
		res := a.Replays[m.Name]
		if m.Class != "low" || res == nil {
			continue
		}
		n++
		if res.Status == replay.Completed {
			k++
		}
	}
	return k, n
}

// growLatencies pools the grow events' latencies of class over arms.
func growLatencies(arms []*bench.LoadedArm, class string) []float64 {
	var xs []float64
	for _, a := range arms {
		for _, m := range a.Members {
			if res := a.Replays[m.Name]; res != nil && m.Class == class {
				xs = append(xs, grows(res)...)
			}
		}
	}
	return xs
}

// grows returns the latencies of res's grow events, setup excluded.
func grows(res *replay.Result) []float64 {
	var xs []float64
	for _, e := range res.Events {
		if e.Kind == "grow" {
			xs = append(xs, e.LatencyUS)
		}
	}
	return xs
}

func latencyOf(xs []float64) Latency {
	s, err := stats.Summarize(xs)
	if err != nil {
		return Latency{}
	}
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	return Latency{N: s.Count, P50: s.P50, P95: s.P95, P99: s.P99, Max: s.Max, sorted: sorted}
}

// eventsOf sums the memory.events deltas of class's replays per arm, and
// averages the sums over arms.
func eventsOf(arms []*bench.LoadedArm, class string) Events {
	var e Events
	if len(arms) == 0 {
		return e
	}
	for _, a := range arms {
		for _, m := range a.Members {
			if res := a.Replays[m.Name]; res != nil && m.Class == class {
				d := res.MemoryEventsDelta
				e.High += float64(d.High)
				e.Max += float64(d.Max)
				e.OOM += float64(d.OOM)
				e.OOMKill += float64(d.OOMKill)
			}
		}
	}
	n := float64(len(arms))
	return Events{High: e.High / n, Max: e.Max / n, OOM: e.OOM / n, OOMKill: e.OOMKill / n}
}

// isCounter picks the daemon counters the report shows.
func isCounter(key string) bool {
	return strings.Contains(key, "trigger") || strings.Contains(key, "delay")
}

// countersOf averages each trigger and delay counter over the arms whose
// daemon reported it.
func countersOf(arms []*bench.LoadedArm) map[string]float64 {
	sum, n := map[string]float64{}, map[string]int{}
	for _, a := range arms {
		if a.Daemon == nil {
			continue
		}
		for k, v := range a.Daemon.Counters {
			if isCounter(k) {
				sum[k] += v
				n[k]++
			}
		}
	}
	for k := range sum {
		sum[k] /= float64(n[k])
	}
	return sum
}
