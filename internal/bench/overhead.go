package bench

import (
	"context"
	"fmt"
	"slices"

	"github.com/memqos/memqos/internal/trace"
)

// MicroSpeed replays the microbenchmark's sawtooth so fast that every
// sample is due at once: the allocations run back to back.
const MicroSpeed = 1e6

// Overhead runs the overhead benchmark: with no memory limit and no other
// session, each run measures the allocation microbenchmark and then a
// trace replay, once with no daemon ("none") and once under each daemon
// strategy, in a shuffled order. The sessions are LOW members, whose
// charges go through the kernel backend's hook.
func Overhead(ctx context.Context, o Options) error {
	sc := o.Scenario
	if len(sc.Low) != 1 || len(sc.High) != 0 {
		return fmt.Errorf("overhead replays exactly one trace")
	}
	if sc.MicroBytes <= 0 || sc.MicroIterations < 1 {
		return fmt.Errorf("microbenchmark of %d bytes × %d: want a positive size and count", sc.MicroBytes, sc.MicroIterations)
	}
	if sc.TotalBytes != 0 || sc.HighIdle {
		return fmt.Errorf("overhead runs without a limit and without idle sessions")
	}
	names := []string{string(None)}
	for _, s := range o.Strategies {
		if !s.RunsDaemon() {
			return fmt.Errorf("strategy %q runs no daemon: overhead compares daemon strategies with none", s)
		}
		if !slices.Contains(names, string(s)) {
			names = append(names, string(s))
		}
	}
	if len(names) == 1 {
		return fmt.Errorf("no daemon strategy to compare with none")
	}
	if err := o.check(); err != nil {
		return err
	}
	traces, err := loadTraces(sc.Low)
	if err != nil {
		return err
	}
	micro := sawtooth(sc.MicroBytes, sc.MicroIterations)
	o.Manifest.Kind = KindOverhead
	return runArms(ctx, o, names, func(run int, name string) armPlan {
		return armPlan{name: name, run: run, strategy: Strategy(name), sequential: true, sessions: []*session{
			{Member: Member{Name: "micro", Class: "low", Trace: micro.Name}, tr: micro, speed: MicroSpeed, noBase: true},
			{Member: Member{Name: "trace", Class: "low", Trace: sc.Low[0]}, tr: traces[sc.Low[0]]},
		}}
	})
}

// sawtooth is the microbenchmark as a trace: n times, grow from nothing to
// size bytes (the worker maps and touches every page) and back (it unmaps
// them all), one millisecond apart.
func sawtooth(size int64, n int) *trace.Trace {
	t := &trace.Trace{Name: fmt.Sprintf("micro-%dx%d", n, size), Source: "memqos bench overhead: allocate and touch, then free", IntervalMS: 1}
	for i := 0; i <= 2*n; i++ {
		total := int64(0)
		if i%2 == 1 {
			total = size
		}
		t.Samples = append(t.Samples, trace.Sample{TimeMS: int64(i), Total: total})
	}
	return t
}
