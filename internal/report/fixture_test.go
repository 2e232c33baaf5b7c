package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/memqos/memqos/internal/bench"
	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/trace/replay"
)

// mb10 is the size of one grow event in the fixtures.
const mb10 = 10_000_000

// result is a replay result with a setup event then one grow event of
// 10 MB per latency. Its kernel counters have 100 µs of stall (half of it
// full) per µs of grow latency, and 10 pages scanned per grow.
func result(status replay.Status, wallS float64, growUS ...float64) *replay.Result {
	r := &replay.Result{Format: replay.ResultFormat, Status: status, WallS: wallS,
		OOMKilled: status == replay.OOMKilled, Kernel: &replay.Kernel{Stall: &replay.Stall{}, Stat: map[string]uint64{}}}
	for _, us := range growUS {
		r.Kernel.Stall.SomeUS += uint64(100 * us)
		r.Kernel.Stall.FullUS += uint64(50 * us)
		r.Kernel.Stat["pgscan"] += 10
	}
	r.Events = append(r.Events, replay.Event{Kind: "setup", FootprintBytes: mb10, LatencyUS: 1e6})
	fp := int64(mb10)
	for i, us := range growUS {
		fp += mb10
		r.Events = append(r.Events, replay.Event{Sample: i + 1, Kind: "grow", FootprintBytes: fp, LatencyUS: us})
	}
	if status == replay.OOMKilled {
		r.Error = "killed at sample " + strconv.Itoa(len(growUS))
		r.MemoryEventsDelta = cgroup.MemoryEvents{Max: 3, OOM: 1, OOMKill: 1}
	}
	return r
}

// arm is an arm to write: its replays by member name (nil: missing file).
type arm struct {
	bench.Arm
	replays map[string]*replay.Result
}

func member(name string) bench.Member {
	class := "low"
	if name[0] == 'h' {
		class = "high"
	}
	if name == microMember || name == traceMember {
		class = ""
	}
	trace := "builtin:" + name
	if class != "" {
		trace = "builtin:" + class // every session of a class replays the same trace
	}
	return bench.Member{Name: name, Class: class, Trace: trace, Result: name + ".json"}
}

func newArm(run, order int, name string, replays map[string]*replay.Result, members ...string) arm {
	a := arm{Arm: bench.Arm{Format: bench.ArmFormat, Name: name, Run: run, Order: order,
		Started: "2026-01-01T00:00:00Z"}, replays: replays}
	for _, m := range members {
		a.Members = append(a.Members, member(m))
	}
	return a
}

// writeResults writes a results directory with m and arms into a new
// temporary directory, and loads it.
func writeResults(t *testing.T, m bench.Manifest, arms []arm) *bench.Results {
	t.Helper()
	dir := t.TempDir()
	writeJSON(t, filepath.Join(dir, bench.ManifestFile), m)
	for _, a := range arms {
		ad := filepath.Join(dir, bench.RunsDir, strconv.Itoa(a.Run), a.Name)
		if err := os.MkdirAll(ad, 0o755); err != nil {
			t.Fatal(err)
		}
		writeJSON(t, filepath.Join(ad, bench.ArmFile), a.Arm)
		for name, res := range a.replays {
			if res != nil {
				writeJSON(t, filepath.Join(ad, name+".json"), res)
			}
		}
	}
	r, err := bench.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

var isolationArms = []string{"none", "static", "structops", "reference", bench.SoloHigh, bench.SoloLow}

func isolationManifest(highIdle bool) bench.Manifest {
	return bench.Manifest{Format: bench.ManifestFormat, Kind: bench.KindIsolation,
		Version: "v0.1.0", Commit: "abc1234", Kernel: "7.1.5-memcg-v7",
		Scenario: bench.Scenario{Name: "mixed", TotalBytes: 1_100_000_000, Speed: 50,
			BaseBytes: 100_000_000, High: []string{"builtin:claude"}, Low: []string{"builtin:build", "builtin:build"},
			HighIdle: highIdle},
		Arms: isolationArms, Runs: 3, Started: "2026-01-01T00:00:00Z", Finished: "2026-01-01T01:00:00Z"}
}

// isolation is three runs. Per run r (1..3), solo-high's HIGH takes
// 10 s·r, solo-low's LOW 20 s·r, so that a slowdown computed against
// another run's baseline comes out wrong:
//
//   - none: HIGH 11, 12, 13 (×r): slowdown 1.1, 1.2, 1.3; LOW 30 (×r),
//     low-1 OOM-killed in run 1: survival 1/2, 1, 1.
//   - structops: HIGH 10 (×r), slowdown 1; LOW 40 (×r), slowdown 2.
//   - static: HIGH OOM-killed in every run under a memory.max of 300 MB,
//     below its 400 MB peak; LOW 25 (×r).
//   - reference: run 2's arm failed with low-1's result missing, run 3's
//     arm is missing.
func isolation(t *testing.T, highIdle bool) *bench.Results {
	m := isolationManifest(highIdle)
	var arms []arm
	for run := 1; run <= 3; run++ {
		f := float64(run)
		noneLow1 := result(replay.Completed, 30*f, 900, 1100)
		if run == 1 {
			noneLow1 = result(replay.OOMKilled, 5, 5000)
		}
		arms = append(arms,
			newArm(run, (run+0)%5, "none", map[string]*replay.Result{
				"high-0": result(replay.Completed, (10+f)*f, 100*f, 200, 300),
				"low-0":  result(replay.Completed, 30*f, 1000, 2000),
				"low-1":  noneLow1,
			}, "high-0", "low-0", "low-1"),
			newArm(run, (run+1)%5, "structops", map[string]*replay.Result{
				"high-0": result(replay.Completed, 10*f, 50, 60, 70),
				"low-0":  result(replay.Completed, 40*f, 3000, 4000),
				"low-1":  result(replay.Completed, 40*f, 3500),
			}, "high-0", "low-0", "low-1"),
			newArm(run, (run+3)%5, bench.SoloHigh, map[string]*replay.Result{
				"high-0": result(replay.Completed, 10*f, 40, 50, 60),
			}, "high-0"),
			newArm(run, (run+4)%5, bench.SoloLow, map[string]*replay.Result{
				"low-0": result(replay.Completed, 20*f, 500, 600),
			}, "low-0"),
		)
		static := newArm(run, 5, "static", map[string]*replay.Result{
			"high-0": result(replay.OOMKilled, 3*f, 400),
			"low-0":  result(replay.Completed, 25*f, 700),
			"low-1":  result(replay.Completed, 25*f, 800),
		}, "high-0", "low-0", "low-1")
		static.Members[0].Limits = map[string]int64{"memory.max": 300_000_000}
		static.replays["high-0"].TargetPeakBytes = 400_000_000
		arms = append(arms, static)
		arms[len(arms)-4].Daemon = &bench.DaemonReport{Backend: "structops", Restored: true,
			Counters: map[string]float64{"low.delay_active": 10 * f, "high.triggers": f, "memqos_ticks_total": 99}}
		arms[len(arms)-4].Timeline = bench.Timeline{IntervalS: 0.5, Members: []string{"high-0", "low-0", "low-1", "parent"},
			Samples: [][]uint64{{0, 0, 0, 0}, {1e8, 2e8, 2e8, 5e8}, {3e8, 3e8, 2e8, 8e8}, {3e8, 1e8, 0, 4e8}}}
		if run < 3 {
			ref := newArm(run, (run+2)%5, "reference", map[string]*replay.Result{
				"high-0": result(replay.Completed, 10.5*f, 80),
				"low-0":  result(replay.Completed, 60*f, 8000),
			}, "high-0", "low-0", "low-1")
			if run == 1 {
				ref.replays["low-1"] = result(replay.Completed, 60, 7000)
			} else {
				ref.Error = "replay low-1: worker did not start"
			}
			arms = append(arms, ref)
		}
	}
	return writeResults(t, m, arms)
}

// overhead is three runs of none and structops. none's micro allocations
// take 1000 µs each (10 MB: 10 000 MB/s), structops' 1000·(1.09 + r/100)
// µs: +10 %, +11 %, +12 %;
// the trace takes 100 s under none and 100 + (r−2) s under structops:
// -1 %, 0, +1 %, inside the noise.
func overhead(t *testing.T) *bench.Results {
	m := bench.Manifest{Format: bench.ManifestFormat, Kind: bench.KindOverhead,
		Version: "v0.1.0", Commit: "abc1234", Kernel: "7.1.5-memcg-v7",
		Runtime: bench.PodmanRuntime, Image: "localhost/memqos-sandbox",
		Scenario: bench.Scenario{Name: "overhead", TotalBytes: 2_000_000_000, Speed: 50, BaseBytes: 100_000_000,
			High: []string{"builtin:claude"}, MicroBytes: mb10, MicroIterations: 4},
		Arms: []string{"none", "structops"}, Runs: 3, Started: "2026-01-01T00:00:00Z"}
	var arms []arm
	for run := 1; run <= 3; run++ {
		f := float64(run)
		k := 1.09 + f/100
		arms = append(arms,
			newArm(run, run%2, "none", map[string]*replay.Result{
				microMember: result(replay.Completed, 1, 1000, 1000, 1000, 1000),
				traceMember: result(replay.Completed, 100, 200, 400),
			}, microMember, traceMember),
			newArm(run, (run+1)%2, "structops", map[string]*replay.Result{
				microMember: result(replay.Completed, 1, 1000*k, 1000*k, 1000*k, 1000*k),
				traceMember: result(replay.Completed, 100+f-2, 200, 400),
			}, microMember, traceMember),
		)
		arms[len(arms)-1].Daemon = &bench.DaemonReport{Backend: "structops", Restored: true}
	}
	return writeResults(t, m, arms)
}
