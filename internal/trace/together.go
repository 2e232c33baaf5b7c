package trace

import (
	"errors"
	"slices"
	"time"
)

// Together describes traces replayed at once, as the isolation bench
// replays its sessions: every trace starts at time 0, holds each sample's
// total (plus a base) until its next sample, and frees everything after
// its last one.
type Together struct {
	// PeakBytes is the largest sum of the traces' totals at one moment,
	// and PeakAt when it is first reached, in trace time.
	PeakBytes int64
	PeakAt    time.Duration
	// Over is the trace time during which the sum is above the limit, and
	// ExcessBytes the most it is above it: the memory that someone must do
	// without, for that long, if nobody is OOM-killed and nothing is
	// swapped. At a speed of N× the time is Over/N.
	Over        time.Duration
	ExcessBytes int64
}

// ComputeTogether describes ts replayed at once with base bytes added to
// every sample, against a limit in bytes (0: no limit, Over and
// ExcessBytes stay 0).
func ComputeTogether(ts []*Trace, base, limit int64) (Together, error) {
	if len(ts) == 0 {
		return Together{}, errors.New("no trace")
	}
	var times []int64
	for _, t := range ts {
		if len(t.Samples) == 0 {
			return Together{}, ErrNoSamples
		}
		for _, s := range t.Samples {
			times = append(times, s.TimeMS-t.Samples[0].TimeMS)
		}
	}
	slices.Sort(times)
	times = slices.Compact(times)
	var tg Together
	for i, at := range times {
		var sum int64
		for _, t := range ts {
			if v, ok := totalAt(t, at); ok {
				sum += v + base
			}
		}
		if sum > tg.PeakBytes {
			tg.PeakBytes, tg.PeakAt = sum, ms(at)
		}
		if limit > 0 && sum > limit && i+1 < len(times) {
			tg.Over += ms(times[i+1] - at)
			tg.ExcessBytes = max(tg.ExcessBytes, sum-limit)
		}
	}
	return tg, nil
}

// totalAt is t's total at offset at from its first sample: the last
// sample at or before it; none after the last sample.
func totalAt(t *Trace, at int64) (int64, bool) {
	t0 := t.Samples[0].TimeMS
	if at > t.Samples[len(t.Samples)-1].TimeMS-t0 {
		return 0, false
	}
	i, found := slices.BinarySearchFunc(t.Samples, at+t0, func(s Sample, target int64) int { return int(s.TimeMS - target) })
	if !found {
		i--
	}
	return t.Samples[i].Total, true
}
