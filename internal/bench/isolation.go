package bench

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/trace"
)

// Isolation runs the isolation comparison: in each run, every strategy and
// the two baselines (HIGH alone, one LOW alone), in a shuffled order, each
// in a fresh parent group limited to the scenario's total. It writes the
// results directory as it goes; an arm that fails is recorded with its
// error and the bench goes on. It returns an error only when nothing can
// run (bad options, traces, cgroups) or when ctx ends.
//
// It needs root and cgroup v2 with the memory controller; strategies that
// run the daemon need what their backend needs.
func Isolation(ctx context.Context, o Options) error {
	sc := o.Scenario
	if len(sc.High) == 0 || len(sc.Low) == 0 {
		return fmt.Errorf("isolation needs at least one HIGH and one LOW trace")
	}
	if sc.TotalBytes <= 0 {
		return fmt.Errorf("--total-mb: want a positive limit")
	}
	if err := o.check(); err != nil {
		return err
	}
	traces, err := loadTraces(sc.High, sc.Low)
	if err != nil {
		return err
	}
	var names []string
	for _, s := range o.Strategies {
		names = append(names, string(s))
	}
	variants := map[string]*Variant{}
	for i, v := range o.Variants {
		if slices.Contains(names, v.Name) || variants[v.Name] != nil || v.Name == SoloHigh || v.Name == SoloLow {
			return fmt.Errorf("variant %q: the name is taken", v.Name)
		}
		variants[v.Name] = &o.Variants[i]
		names = append(names, v.Name)
	}
	names = append(names, SoloHigh, SoloLow)
	o.Manifest.Kind = KindIsolation
	return runArms(ctx, o, names, func(run int, name string) armPlan {
		p := isolationPlan(sc, traces, run, name)
		if v := variants[name]; v != nil {
			p.strategy, p.variant = "", v
		}
		return p
	})
}

// isolationPlan returns the sessions of one arm, with its strategy's
// static limits.
func isolationPlan(sc Scenario, traces map[string]*trace.Trace, run int, name string) armPlan {
	p := armPlan{name: name, run: run, strategy: Strategy(name)}
	var all []*session
	for i, ref := range sc.High {
		s := &session{Member: Member{Name: fmt.Sprintf("high-%d", i), Class: "high", Trace: ref}, tr: traces[ref]}
		if sc.HighIdle {
			s.tr, s.idle = holdTrace(traces[ref]), true
		}
		all = append(all, s)
	}
	for i, ref := range sc.Low {
		all = append(all, &session{Member: Member{Name: fmt.Sprintf("low-%d", i), Class: "low", Trace: ref}, tr: traces[ref]})
	}
	switch name {
	case SoloHigh:
		p.strategy = ""
		all = all[:len(sc.High)]
	case SoloLow:
		// Each LOW trace once, one after the other: every LOW session's
		// baseline is its own trace alone.
		p.strategy, p.sequential = "", true
		var solo []*session
		for _, s := range all[len(sc.High):] {
			if !slices.ContainsFunc(solo, func(x *session) bool { return x.Trace == s.Trace }) {
				solo = append(solo, s)
			}
		}
		all = solo
	}
	for _, s := range all {
		s.limits = map[string]cgroup.Limit{}
		switch Strategy(name) {
		case Static:
			s.limits[cgroup.MemoryMax] = cgroup.Limit(sc.TotalBytes / int64(len(all)))
		case HighOnly:
			if s.Class == "low" {
				s.limits[cgroup.MemoryHigh] = referenceLowHigh
			}
		}
	}
	p.sessions = all
	return p
}

// holdTrace is an idle session's trace: t's peak at once, held far longer
// than any bench runs; the bench ends the replay when the others are done.
func holdTrace(t *trace.Trace) *trace.Trace {
	var peak int64
	for _, s := range t.Samples {
		peak = max(peak, s.Total)
	}
	return &trace.Trace{Name: t.Name + " (idle)", Source: "memqos bench: peak of " + t.Name + ", held",
		Samples: []trace.Sample{{TimeMS: 0, Total: peak}, {TimeMS: math.MaxInt32 * 1000, Total: peak}}}
}
