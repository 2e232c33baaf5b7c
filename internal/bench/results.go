package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/renameio/v2"
	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/trace/replay"
)

// Formats of the files of a results directory.
const (
	ManifestFormat = "memqos-bench/1"
	ArmFormat      = "memqos-bench-arm/1"
)

// File names in a results directory:
//
//	DIR/bench.json                      Manifest
//	DIR/runs/RUN/ARM/arm.json           Arm (RUN from 1, ARM a strategy or baseline)
//	DIR/runs/RUN/ARM/MEMBER.json        replay.Result of each member ("high-0", "low-1")
//	DIR/runs/RUN/ARM/config.yaml        the daemon's configuration (daemon strategies)
//	DIR/runs/RUN/ARM/daemon.log         the daemon's event log, JSON lines
//	DIR/runs/RUN/ARM/metrics.txt        the daemon's Prometheus metrics at the end
//	DIR/runs/RUN/ARM.discarded/         what an arm lost to a guest crash had written
const (
	ManifestFile = "bench.json"
	ArmFile      = "arm.json"
	RunsDir      = "runs"
)

// Kind is what a results directory measured.
type Kind string

const (
	KindIsolation Kind = "isolation"
	KindOverhead  Kind = "overhead"
)

// Manifest describes a whole bench: what was asked, on which machine.
type Manifest struct {
	Format string `json:"format"`
	Kind   Kind   `json:"kind"`
	// Version and Commit identify the memqos that ran it.
	Version string `json:"version"`
	Commit  string `json:"commit"`
	// Kernel is the running kernel's release; Probe the kernel probe's
	// report, as memqos probe --json prints it.
	Kernel string          `json:"kernel"`
	Probe  json.RawMessage `json:"probe,omitempty"`
	// Runtime is how the sessions ran: "process" or "podman" (empty in
	// results from before there was a choice: processes). Image is the
	// podman runtime's sandbox image.
	Runtime Runtime `json:"runtime,omitempty"`
	Image   string  `json:"image,omitempty"`
	// Scenario is the isolation scenario (isolation), or the overhead
	// workload (overhead).
	Scenario Scenario `json:"scenario"`
	// Arms are the arm names of every run, strategies and baselines; each
	// run ran them all, in its own order (Arm.Order).
	Arms []string `json:"arms"`
	Runs int      `json:"runs"`
	// Variants are the arms that ran a daemon configuration given to the
	// bench (--variant), with that configuration.
	Variants []Variant `json:"variants,omitempty"`
	// Seed ordered the arms of each run (0 in results from before it was
	// recorded).
	Seed uint64 `json:"seed,omitempty"`
	// Started and Finished are RFC 3339 times.
	Started  string `json:"started"`
	Finished string `json:"finished,omitempty"`
	// Lab is the qemu guest the bench ran in (memqos bench --vm); nil when
	// it ran on the host.
	Lab *Lab `json:"lab,omitempty"`
	// Discarded are the arms lost to guest crashes; the bench resumed in a
	// fresh guest with the next arm.
	Discarded []DiscardedArm `json:"discarded,omitempty"`
}

// Scenario is one workload mix under one memory limit.
type Scenario struct {
	Name string `json:"name"`
	// TotalBytes is the memory.max of the parent of all sessions
	// (--total-mb is decimal: 1100 MB is 1.1e9 bytes).
	TotalBytes int64   `json:"total_bytes"`
	Speed      float64 `json:"speed"`
	BaseBytes  int64   `json:"base_bytes"`
	// High and Low are the sessions' traces, one per session, as given
	// ("builtin:NAME" or a path).
	High []string `json:"high"`
	Low  []string `json:"low"`
	// HighIdle: HIGH sessions take their trace's peak at once, then hold it
	// without allocating until every LOW session has ended (the
	// work-conservation scenario).
	HighIdle bool `json:"high_idle,omitempty"`
	// THP is true when the replayers left transparent huge pages at the
	// system's setting; false when they disabled them (the RFC's delay
	// applies to small-page charges only).
	THP bool `json:"thp"`
	// Swap is false when swap was off (memory.swap.max=0 on the parent).
	Swap bool `json:"swap"`
	// Micro is the overhead bench's allocation microbenchmark: Iterations
	// allocations of MicroBytes, each touched then freed.
	MicroBytes      int64 `json:"micro_bytes,omitempty"`
	MicroIterations int   `json:"micro_iterations,omitempty"`
}

// Arm names besides the strategies: the baselines every isolation run
// measures. SoloHigh runs the HIGH sessions alone; SoloLow runs one LOW
// session of each LOW trace alone, one after the other; both under the
// same parent limit with no isolation.
const (
	SoloHigh = "solo-high"
	SoloLow  = "solo-low"
)

// Arm is one strategy (or baseline) in one run. In an overhead bench the
// arms are "none" and the daemon strategies, and the members ran one after
// the other: "micro" (the allocation microbenchmark) then "trace".
type Arm struct {
	Format string `json:"format"`
	Name   string `json:"name"`
	Run    int    `json:"run"`
	// Order is the arm's position in its run, from 0.
	Order int `json:"order"`
	// Started is an RFC 3339 time; WallS is from the first replay's start
	// to the last one's end.
	Started string   `json:"started"`
	WallS   float64  `json:"wall_s"`
	Members []Member `json:"members"`
	// RootEventsDelta is the memory.events delta of the sessions' parent.
	RootEventsDelta cgroup.MemoryEvents `json:"root_memory_events_delta"`
	// RootPeakBytes is the parent's memory.peak at the end.
	RootPeakBytes uint64 `json:"root_memory_peak_bytes"`
	// Daemon is what the daemon reported (daemon strategies only).
	Daemon *DaemonReport `json:"daemon,omitempty"`
	// Timeline is each member's memory.current over the arm.
	Timeline Timeline `json:"timeline"`
	// Error is set when the arm could not run as planned; its members'
	// results may be missing.
	Error string `json:"error,omitempty"`
}

// Member is one session of an arm.
type Member struct {
	// Name is "high-0", "low-1": its class and index.
	Name  string `json:"name"`
	Class string `json:"class"` // "high" or "low"
	Trace string `json:"trace"`
	// Cgroup is the session's group, relative to the cgroup mount: CLASS/NAME
	// below the arm's parent for a process, CLASS/libpod-<id> for a podman
	// container. Container is the container's id (podman runtime).
	Cgroup    string `json:"cgroup,omitempty"`
	Container string `json:"container,omitempty"`
	// Result is the replay result file, relative to the arm's directory.
	Result string `json:"result"`
	// Limits are the knobs the strategy set on the session's group before
	// it started, in bytes (static's memory.max, high-only's memory.high).
	Limits map[string]int64 `json:"limits,omitempty"`
}

// DaemonReport is the daemon's view of an arm.
type DaemonReport struct {
	Backend string `json:"backend"`
	// Counters are the BPF counters by class ("low.delay_active") and the
	// daemon's metrics by name and label ("memqos_knob_writes_total{file=memory.high}").
	Counters map[string]float64 `json:"counters"`
	// Restored is true when every knob was restored on stop.
	Restored bool   `json:"restored"`
	Error    string `json:"error,omitempty"`
}

// Timeline samples each member's memory.current.
type Timeline struct {
	IntervalS float64 `json:"interval_s"`
	// Members are in Arm.Members' order; "parent" is last.
	Members []string `json:"members"`
	// Samples[i][j] is member j's bytes at i·IntervalS.
	Samples [][]uint64 `json:"samples"`
}

// Results is a results directory, loaded.
type Results struct {
	Dir      string
	Manifest Manifest
	// Arms are sorted by run, then order.
	Arms []*LoadedArm
}

// LoadedArm is an arm with its members' replay results.
type LoadedArm struct {
	Arm
	// Replays holds each member's result by member name; a member whose
	// result file is missing (the arm failed) has none.
	Replays map[string]*replay.Result
}

// ErrNotResults means a directory has no bench.json.
var ErrNotResults = errors.New("not a memqos bench results directory")

// Load reads a results directory: the manifest, and every arm with its
// replay results. It needs nothing but the files.
func Load(dir string) (*Results, error) {
	var m Manifest
	if err := readJSON(filepath.Join(dir, ManifestFile), &m); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w (no %s)", dir, ErrNotResults, ManifestFile)
		}
		return nil, err
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("%s: format %q, want %q", filepath.Join(dir, ManifestFile), m.Format, ManifestFormat)
	}
	res := &Results{Dir: dir, Manifest: m}
	paths, err := filepath.Glob(filepath.Join(dir, RunsDir, "*", "*", ArmFile))
	if err != nil {
		return nil, err
	}
	for _, p := range paths {
		if strings.HasSuffix(filepath.Dir(p), discardedSuffix) {
			continue // what an arm lost to a crash left, perhaps half an arm.json
		}
		a, err := loadArm(p)
		if err != nil {
			return nil, err
		}
		res.Arms = append(res.Arms, a)
	}
	sort.SliceStable(res.Arms, func(i, j int) bool {
		if res.Arms[i].Run != res.Arms[j].Run {
			return res.Arms[i].Run < res.Arms[j].Run
		}
		return res.Arms[i].Order < res.Arms[j].Order
	})
	return res, nil
}

func loadArm(path string) (*LoadedArm, error) {
	a := &LoadedArm{Replays: map[string]*replay.Result{}}
	if err := readJSON(path, &a.Arm); err != nil {
		return nil, err
	}
	if a.Format != ArmFormat {
		return nil, fmt.Errorf("%s: format %q, want %q", path, a.Format, ArmFormat)
	}
	for _, m := range a.Members {
		if m.Result == "" {
			continue
		}
		var r replay.Result
		err := readJSON(filepath.Join(filepath.Dir(path), m.Result), &r)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		a.Replays[m.Name] = &r
	}
	return a, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// writeJSON writes v indented, through a temporary file beside path
// (renameio), so that a reader never sees half a file.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return renameio.WriteFile(path, append(b, '\n'), 0o644, renameio.WithTempDir(filepath.Dir(path)))
}
