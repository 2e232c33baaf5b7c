package report

import (
	"github.com/memqos/memqos/internal/bench"
	"github.com/memqos/memqos/internal/stats"
	"github.com/memqos/memqos/internal/trace/replay"
)

// Members of an overhead arm.
const (
	microMember = "micro"
	traceMember = "trace"
)

// Overhead compares one daemon strategy with "none", run by run.
type Overhead struct {
	Name    string
	Metrics []Diff
}

// Diff is one metric of an overhead comparison. None and Strategy are the
// metric's mean over the paired runs; Pct is the mean of the per-run
// differences (strategy − none) / none, in %, with its 95 % CI.
type Diff struct {
	Metric, Unit   string
	None, Strategy Estimate
	Pct            Estimate
}

// InsideNoise reports whether the difference's CI contains 0.
func (d Diff) InsideNoise() bool { return d.Pct.ContainsZero() }

// overheadMetric measures one run of an arm; ok is false without data.
type overheadMetric struct {
	name, unit string
	measure    func(a *bench.LoadedArm) (float64, bool)
}

var overheadMetrics = []overheadMetric{
	{"micro P50 latency", "µs", microPercentile(50)},
	{"micro P95 latency", "µs", microPercentile(95)},
	{"micro P99 latency", "µs", microPercentile(99)},
	{"micro throughput", "MB/s", microThroughput},
	{"trace completion", "s", traceWall},
	{"trace grow P95 latency", "µs", tracePercentile(95)},
}

func analyzeOverhead(idx armIndex, rs []int, name string) Overhead {
	o := Overhead{Name: name}
	for _, m := range overheadMetrics {
		var ns, ss, pct []float64
		for _, run := range rs {
			n, nok := measure(idx[run][none], m)
			s, sok := measure(idx[run][name], m)
			if nok && sok && n != 0 {
				ns, ss, pct = append(ns, n), append(ss, s), append(pct, (s-n)/n*100)
			}
		}
		o.Metrics = append(o.Metrics, Diff{Metric: m.name, Unit: m.unit,
			None: estimate(ns), Strategy: estimate(ss), Pct: estimate(pct)})
	}
	return o
}

func measure(a *bench.LoadedArm, m overheadMetric) (float64, bool) {
	if a == nil {
		return 0, false
	}
	return m.measure(a)
}

func microPercentile(p float64) func(*bench.LoadedArm) (float64, bool) {
	return func(a *bench.LoadedArm) (float64, bool) { return growPercentile(a, microMember, p) }
}

func tracePercentile(p float64) func(*bench.LoadedArm) (float64, bool) {
	return func(a *bench.LoadedArm) (float64, bool) { return growPercentile(a, traceMember, p) }
}

func growPercentile(a *bench.LoadedArm, member string, p float64) (float64, bool) {
	res, ok := completed(a, member)
	if !ok {
		return 0, false
	}
	v, err := stats.Percentile(grows(res), p)
	return v, err == nil
}

// microThroughput is the bytes the micro replay's grow events added over
// the time they took, in MB/s (1 MB = 10⁶ bytes).
func microThroughput(a *bench.LoadedArm) (float64, bool) {
	res, ok := completed(a, microMember)
	if !ok {
		return 0, false
	}
	bytes, us := grown(res)
	if us <= 0 {
		return 0, false
	}
	return float64(bytes) / us, true // bytes/µs = MB/s
}

// grown sums the footprint increase and the latency of res's grow events.
func grown(res *replay.Result) (bytes int64, us float64) {
	var prev int64
	for _, e := range res.Events {
		if e.Kind == "grow" {
			bytes += e.FootprintBytes - prev
			us += e.LatencyUS
		}
		prev = e.FootprintBytes
	}
	return bytes, us
}

func traceWall(a *bench.LoadedArm) (float64, bool) {
	if res, ok := completed(a, traceMember); ok {
		return res.WallS, true
	}
	return 0, false
}
