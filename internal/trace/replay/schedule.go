package replay

import (
	"context"
	"time"

	"github.com/memqos/memqos/internal/trace"
)

// LateThreshold is how late a sample must start to count as late: timer
// wake-ups are always a little late, and that is not the worker's fault.
const LateThreshold = time.Millisecond

// DueTimes returns when each sample of t is due, as offsets from the start
// of the replay: (t_i − t_0)/speed. speed must be positive.
func DueTimes(t *trace.Trace, speed float64) []time.Duration {
	dues := make([]time.Duration, len(t.Samples))
	t0 := t.Samples[0].TimeMS
	for i, s := range t.Samples {
		dues[i] = time.Duration(float64(s.TimeMS-t0) * float64(time.Millisecond) / speed)
	}
	return dues
}

// clock is the time source of the schedule; tests inject a fake one.
type clock interface {
	Now() time.Time
	// SleepUntil returns at t, at once if t has passed, or when ctx ends
	// (with ctx's error).
	SleepUntil(ctx context.Context, t time.Time) error
}

// wallClock is the real clock.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run is the outcome of a schedule.
type run struct {
	// Done counts the samples whose step succeeded.
	Done int
	// Lateness holds, for each sample whose step began, how late it began
	// (never negative).
	Lateness []time.Duration
	// Wall is the time from the start to the end of the last step run.
	Wall time.Duration
}

// runSchedule calls step(i, lateness) for each due time, in order, at
// start+dues[i], or at once if that has passed. Lateness does not accumulate: each step
// waits for its own due time, not for a time after the previous step. It
// stops at the first error of step or of ctx.
func runSchedule(ctx context.Context, clk clock, dues []time.Duration, step func(i int, late time.Duration) error) (run, error) {
	var r run
	start := clk.Now()
	err := steps(ctx, clk, start, dues, &r, step)
	r.Wall = clk.Now().Sub(start)
	return r, err
}

func steps(ctx context.Context, clk clock, start time.Time, dues []time.Duration, r *run, step func(i int, late time.Duration) error) error {
	for i, due := range dues {
		at := start.Add(due)
		if err := clk.SleepUntil(ctx, at); err != nil {
			return err
		}
		late := max(clk.Now().Sub(at), 0)
		r.Lateness = append(r.Lateness, late)
		if err := step(i, late); err != nil {
			return err
		}
		r.Done++
	}
	return nil
}

// latencyBound returns when a replay whose steps took exactly the events'
// latencies, with no other cost, would end: each step begins at its due
// time or when the one before ends, whichever is later. events[i] is the
// step of dues[i]; extra dues are ignored.
func latencyBound(dues []time.Duration, events []Event) time.Duration {
	var end time.Duration
	for i, e := range events[:min(len(events), len(dues))] {
		end = max(end, dues[i]) + time.Duration(e.LatencyUS*float64(time.Microsecond))
	}
	return end
}
