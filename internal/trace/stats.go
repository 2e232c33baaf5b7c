package trace

import (
	"fmt"
	"time"

	"github.com/memqos/memqos/internal/stats"
)

// BurstFactor sets the burst threshold: BurstFactor times the median of
// the samples' total memory.
const BurstFactor = 1.5

// Stats describes the total memory of a trace.
type Stats struct {
	Name    string
	Samples int
	// Duration is the time from the first to the last sample.
	Duration time.Duration
	// Total summarizes Sample.Total in bytes over all samples, each
	// sample counting once whatever the gap to its neighbours (the sample
	// mean, not a time-weighted one). Percentiles are type 7 (package
	// stats); Total.Max is the peak.
	Total stats.Summary
	// PeakToMean is Total.Max / Total.Mean, or 0 when the mean is 0.
	PeakToMean float64
	// BurstThreshold is BurstFactor × Total.P50, in bytes.
	BurstThreshold float64
	// Bursts counts the maximal runs of consecutive samples whose total is
	// strictly above BurstThreshold.
	Bursts int
}

// ComputeStats describes t. It fails only for a nil trace or one without
// samples.
func ComputeStats(t *Trace) (Stats, error) {
	if t == nil {
		return Stats{}, fmt.Errorf("nil trace: %w", ErrNoSamples)
	}
	totals := make([]float64, len(t.Samples))
	for i, s := range t.Samples {
		totals[i] = float64(s.Total)
	}
	sum, err := stats.Summarize(totals)
	if err != nil {
		return Stats{}, fmt.Errorf("trace %s: %w", t.Name, err)
	}
	st := Stats{
		Name:           t.Name,
		Samples:        len(t.Samples),
		Duration:       t.Duration(),
		Total:          sum,
		BurstThreshold: BurstFactor * sum.P50,
	}
	if sum.Mean > 0 {
		st.PeakToMean = sum.Max / sum.Mean
	}
	st.Bursts = countRunsAbove(totals, st.BurstThreshold)
	return st, nil
}

// countRunsAbove counts the maximal runs of consecutive values above
// threshold.
func countRunsAbove(xs []float64, threshold float64) int {
	runs, in := 0, false
	for _, x := range xs {
		above := x > threshold
		if above && !in {
			runs++
		}
		in = above
	}
	return runs
}
