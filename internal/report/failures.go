package report

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/memqos/memqos/internal/bench"
	"github.com/memqos/memqos/internal/trace/replay"
)

// failures lists what did not run as planned: arms missing from a run or
// failed, daemons that failed or left knobs changed, replays missing or
// ended otherwise than completed. An isolation bench's LOW replay killed by
// the OOM killer is a result of its strategy (survival, an Outcome), not
// a failure, whatever its class; so is an idle HIGH replay that the bench
// interrupted once the others were done.
func failures(r *bench.Results, idx armIndex) []Failure {
	var fs []Failure
	for run := 1; run <= r.Manifest.Runs; run++ {
		for _, name := range r.Manifest.Arms {
			if idx[run][name] == nil {
				problem := "arm missing"
				if i := slices.IndexFunc(r.Manifest.Discarded, func(d bench.DiscardedArm) bool { return d.Run == run && d.Name == name }); i >= 0 {
					problem = "arm discarded, the guest crashed: " + r.Manifest.Discarded[i].Why
				}
				fs = append(fs, Failure{Run: run, Arm: name, Problem: problem})
			}
		}
	}
	for _, a := range r.Arms {
		fs = append(fs, armFailures(r.Manifest.Kind, r.Manifest.Scenario.HighIdle, a)...)
	}
	slices.SortStableFunc(fs, func(a, b Failure) int { return cmp.Compare(a.Run, b.Run) })
	return fs
}

func armFailures(kind bench.Kind, highIdle bool, a *bench.LoadedArm) []Failure {
	var fs []Failure
	add := func(member, format string, args ...any) {
		fs = append(fs, Failure{Run: a.Run, Arm: a.Name, Member: member, Problem: fmt.Sprintf(format, args...)})
	}
	if a.Error != "" {
		add("", "arm failed: %s", a.Error)
	}
	if d := a.Daemon; d != nil && d.Error != "" {
		add("", "daemon failed: %s", d.Error)
	}
	if d := a.Daemon; d != nil && !d.Restored {
		add("", "daemon did not restore every knob")
	}
	for _, m := range a.Members {
		res := a.Replays[m.Name]
		switch {
		case res == nil:
			add(m.Name, "no replay result")
		case res.Status == replay.Completed:
		case res.Status == replay.OOMKilled && kind == bench.KindIsolation:
		case res.Status == replay.Interrupted && highIdle && m.Class == "high":
		default:
			add(m.Name, "replay %s: %s", res.Status, res.Error)
		}
	}
	return fs
}
