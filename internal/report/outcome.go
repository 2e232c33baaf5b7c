package report

import (
	"github.com/memqos/memqos/internal/bench"
	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/trace/replay"
)

// Outcome is what a strategy did to one class's sessions that did not
// complete without anything going wrong: the OOM killer took them. It is
// a result of the strategy, as survival is, not a failure of the bench.
type Outcome struct {
	Arm, Class string
	// Killed of Sessions were OOM-killed, in KilledRuns of Runs runs.
	Killed, Sessions int
	KilledRuns, Runs int
	// Expected is true when every killed session had a memory.max that
	// the strategy set below its trace's peak (static): the kill was
	// bound to happen. LimitBytes and PeakBytes are the smallest such
	// limit and the largest peak.
	Expected              bool
	LimitBytes, PeakBytes int64
}

// outcomes lists, per arm and class, the OOM kills of an isolation bench.
func outcomes(r *bench.Results, idx armIndex, rs []int) []Outcome {
	var out []Outcome
	for _, name := range r.Manifest.Arms {
		for _, class := range Classes {
			o := Outcome{Arm: name, Class: class, Expected: true}
			for _, run := range rs {
				a := idx[run][name]
				if a == nil {
					continue
				}
				o.Runs++
				killed := false
				for _, m := range a.Members {
					res := a.Replays[m.Name]
					if m.Class != class || res == nil {
						continue
					}
					o.Sessions++
					if res.Status != replay.OOMKilled {
						continue
					}
					o.Killed++
					killed = true
					limit, ok := m.Limits[cgroup.MemoryMax]
					if !ok || limit >= res.TargetPeakBytes {
						o.Expected = false
						continue
					}
					if o.LimitBytes == 0 || limit < o.LimitBytes {
						o.LimitBytes = limit
					}
					o.PeakBytes = max(o.PeakBytes, res.TargetPeakBytes)
				}
				if killed {
					o.KilledRuns++
				}
			}
			if o.Killed > 0 {
				out = append(out, o)
			}
		}
	}
	return out
}
