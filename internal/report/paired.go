package report

import (
	"math"
	"slices"

	"github.com/memqos/memqos/internal/bench"
	"github.com/memqos/memqos/internal/stats"
)

// Paired compares one strategy with the reference strategy run by run:
// both ran in the same runs, so a drift of the machine over time, or a
// slow run, moves both.
type Paired struct {
	Strategy string
	// Memqos says the strategy is one of memqos's own policies: its
	// default policy on a backend, or a variant given to the bench.
	Memqos bool
	Cells  []PairedCell
}

// PairedCell is one metric of a paired comparison. Strategy and Reference
// are the metric's means over the runs that have both; Diff is the mean of
// the per-run differences, strategy − reference, with its 95 % CI.
type PairedCell struct {
	Metric PairedMetric
	// Strategy and Reference are the metric's means over the paired runs.
	Strategy, Reference Estimate
	Diff                Estimate
}

// Verdict is a paired difference read as a result.
type Verdict string

const (
	// Better and Worse: the CI of the difference excludes 0, on the
	// strategy's good (bad) side.
	Better Verdict = "better"
	Worse  Verdict = "worse"
	// Tie: the CI contains 0; this many runs cannot tell them apart.
	Tie Verdict = "tie"
	// NoVerdict: fewer than two paired runs, no interval.
	NoVerdict Verdict = ""
)

// Verdict reads the difference: better or worse only where its CI
// excludes 0.
func (c PairedCell) Verdict() Verdict {
	d := c.Diff
	switch {
	case d.N < 2 || math.IsNaN(d.HalfWidth):
		return NoVerdict
	case d.ContainsZero():
		return Tie
	case (d.Mean < 0) == c.Metric.LowerIsBetter:
		return Better
	}
	return Worse
}

// PairedMetric is a metric of one arm in one run, given that run's
// baselines.
type PairedMetric struct {
	Key, Title, Unit string
	LowerIsBetter    bool
	// Prec is the number of decimals to show.
	Prec    int
	measure func(a, soloHigh, soloLow *bench.LoadedArm) (float64, bool)
}

// PairedMetrics are the columns of the comparison with the reference, in
// order: HIGH first, memory stall (which CPU cannot move) before times.
var PairedMetrics = []PairedMetric{
	{"high_stall", "HIGH stall", "ms", true, 0, func(a, _, _ *bench.LoadedArm) (float64, bool) { return meanStallMS(a, "high") }},
	{"high_alloc", "HIGH alloc time vs solo", "pts", true, 1, func(a, sh, _ *bench.LoadedArm) (float64, bool) {
		return pct(meanRatio(a, sh, "high", allocTime))
	}},
	{"high_p95", "HIGH P95 grow", "ms", true, 1, highP95ms},
	{"low_survival", "LOW survival", "pts", false, 0, lowSurvivalPct},
	{"low_wall", "LOW wall vs alone", "pts", true, 1, func(a, _, sl *bench.LoadedArm) (float64, bool) {
		return pct(meanRatio(a, sl, "low", wallTime))
	}},
	{"low_stall", "LOW stall", "ms", true, 0, func(a, _, _ *bench.LoadedArm) (float64, bool) { return meanStallMS(a, "low") }},
}

// pct turns a ratio to a baseline into a change in %.
func pct(ratio float64, ok bool) (float64, bool) { return (ratio - 1) * 100, ok }

// highP95ms is the P95 of the arm's HIGH grow latencies, in ms.
func highP95ms(a, _, _ *bench.LoadedArm) (float64, bool) {
	xs := growLatencies([]*bench.LoadedArm{a}, "high")
	p, err := stats.Percentile(xs, 95)
	return p / 1000, err == nil
}

// lowSurvivalPct is the share of the arm's LOW sessions that completed,
// in %.
func lowSurvivalPct(a, _, _ *bench.LoadedArm) (float64, bool) {
	k, n := survivors(a)
	return 100 * float64(k) / float64(max(n, 1)), n > 0
}

// isMemqos reports whether an arm runs one of memqos's own policies: the
// default policy on a backend (not the reference, not a static setting),
// or a variant.
func isMemqos(m bench.Manifest, name string) bool {
	s := bench.Strategy(name)
	return s.RunsDaemon() && s != bench.Reference || slices.ContainsFunc(m.Variants, func(v bench.Variant) bool { return v.Name == name })
}

// pairedWithReference compares every strategy but the reference and the
// baselines with the reference, if the bench ran it.
func pairedWithReference(r *bench.Results, idx armIndex, rs []int) []Paired {
	if !slices.Contains(r.Manifest.Arms, string(bench.Reference)) {
		return nil
	}
	var out []Paired
	for _, name := range r.Manifest.Arms {
		if name == string(bench.Reference) || isBaseline(name) {
			continue
		}
		p := Paired{Strategy: name, Memqos: isMemqos(r.Manifest, name)}
		for _, m := range PairedMetrics {
			p.Cells = append(p.Cells, pairedCell(idx, rs, name, m))
		}
		out = append(out, p)
	}
	return out
}

func pairedCell(idx armIndex, rs []int, name string, m PairedMetric) PairedCell {
	var ss, rf, ds []float64
	for _, run := range rs {
		sh, sl := idx[run][bench.SoloHigh], idx[run][bench.SoloLow]
		s, sok := measureArm(idx[run][name], sh, sl, m)
		ref, rok := measureArm(idx[run][string(bench.Reference)], sh, sl, m)
		if sok && rok {
			ss, rf, ds = append(ss, s), append(rf, ref), append(ds, s-ref)
		}
	}
	return PairedCell{Metric: m, Strategy: estimate(ss), Reference: estimate(rf), Diff: estimate(ds)}
}

func measureArm(a, sh, sl *bench.LoadedArm, m PairedMetric) (float64, bool) {
	if a == nil {
		return 0, false
	}
	return m.measure(a, sh, sl)
}
