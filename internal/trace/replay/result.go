package replay

import (
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/proc"
	"github.com/memqos/memqos/internal/stats"
	"golang.org/x/sys/unix"
)

// Status says how a replay ended.
type Status string

// Statuses, from the best to the worst.
const (
	// Completed: every sample was replayed and the worker exited with 0.
	Completed Status = "completed"
	// Interrupted: the controller's context ended first (SIGINT, SIGTERM).
	Interrupted Status = "interrupted"
	// WorkerFailed: the worker reported an error, broke the protocol, or
	// exited otherwise than with 0 without an OOM kill.
	WorkerFailed Status = "worker_failed"
	// OOMKilled: the worker died of SIGKILL and the group's oom_kill
	// counter went up.
	OOMKilled Status = "oom_killed"
)

// ResultFormat is the value of Result.Format: the version of the result
// file's layout.
const ResultFormat = "memqos-replay-result/1"

// Result is what a replay measured. docs/replay.md documents every field.
type Result struct {
	Format          string  `json:"format"`
	Trace           string  `json:"trace"`
	Source          string  `json:"source"`
	Samples         int     `json:"samples"`
	SamplesReplayed int     `json:"samples_replayed"`
	Speed           float64 `json:"speed"`
	BaseBytes       int64   `json:"base_bytes"`
	NoTHP           bool    `json:"no_thp"`
	Cgroup          string  `json:"cgroup"`
	PageSize        int64   `json:"page_size"`
	// TraceDurationS is the trace's duration; ScheduledS is that divided
	// by the speed: the wall time a perfect replay takes.
	TraceDurationS float64 `json:"trace_duration_s"`
	ScheduledS     float64 `json:"scheduled_s"`
	// SetupS is the time the worker took to reach sample 0, the starting
	// state, before the clock started.
	SetupS float64 `json:"setup_s"`
	// WallS is the time from the start of the clock (sample 0 reached) to
	// the answer to the last sample replayed; Fidelity is WallS /
	// ScheduledS (0 when ScheduledS is 0).
	WallS    float64 `json:"wall_s"`
	Fidelity float64 `json:"fidelity"`
	// LatencyBoundS is the wall time that the worker's own latencies
	// allow: each sample begins at its due time or when the previous
	// adjustment ends, whichever is later, and takes its latency. When it
	// exceeds ScheduledS, the machine, not the schedule, limits fidelity.
	LatencyBoundS float64 `json:"latency_bound_s"`
	Status        Status  `json:"status"`
	Exit          Exit    `json:"exit"`
	// OOMKilled is Exit.Signal == "SIGKILL" and OOMKillDelta > 0.
	OOMKilled         bool                `json:"oom_killed"`
	OOMKillDelta      uint64              `json:"oom_kill_delta"`
	MemoryEventsDelta cgroup.MemoryEvents `json:"memory_events_delta"`
	// Kernel is what the kernel counted while the schedule ran: memory
	// stall, reclaim and swap; nil if the setup failed, or in results
	// from before memqos recorded it.
	Kernel *Kernel `json:"kernel,omitempty"`
	// TargetPeakBytes is the largest target of the whole trace;
	// PeakFootprintBytes the largest footprint the worker reached;
	// CgroupPeakBytes the group's memory.peak after the replay.
	TargetPeakBytes    int64    `json:"target_peak_bytes"`
	PeakFootprintBytes int64    `json:"peak_footprint_bytes"`
	CgroupPeakBytes    uint64   `json:"cgroup_memory_peak_bytes"`
	Lateness           Lateness `json:"lateness"`
	Latency            Latency  `json:"latency"`
	Events             []Event  `json:"events"`
	// Error says what went wrong when Status is not Completed.
	Error string `json:"error,omitempty"`
}

// Exit is how the worker process ended.
type Exit struct {
	// Code is the exit status, or -1 if a signal killed the worker.
	Code int `json:"code"`
	// Signal names the killing signal ("SIGKILL"), or is empty.
	Signal       string `json:"signal,omitempty"`
	SignalNumber int    `json:"signal_number,omitempty"`
}

// Lateness summarises how late the samples began, in µs.
type Lateness struct {
	ThresholdUS float64 `json:"threshold_us"`
	// LateSamples counts the samples that began more than ThresholdUS
	// after their due time.
	LateSamples int `json:"late_samples"`
	// MaxUS and MeanUS are over every sample that began, on time or not.
	MaxUS  float64 `json:"max_us"`
	MeanUS float64 `json:"mean_us"`
}

// Event is one sample's adjustment of the worker's footprint.
type Event struct {
	Sample int `json:"sample"`
	// Kind is "setup" for sample 0, which brings the worker to the starting
	// state before the clock starts, then "grow", "shrink" or "hold"
	// (footprint unchanged).
	Kind           string  `json:"kind"`
	FootprintBytes int64   `json:"footprint_bytes"`
	LatencyUS      float64 `json:"latency_us"`
	LatenessUS     float64 `json:"lateness_us"`
}

// Latency summarises the latencies of the events in µs, by kind; a
// summary is nil when there is no event of its kind. All covers grows and
// shrinks; holds are counted only. The setup event is left out: its time
// is SetupS, and it is not an adjustment on the schedule.
type Latency struct {
	Holds  int            `json:"holds"`
	Grow   *stats.Summary `json:"grow"`
	Shrink *stats.Summary `json:"shrink"`
	All    *stats.Summary `json:"all"`
}

// add records the worker's answer to sample i, which began late.
func (r *Result) add(i int, rp Reply, late time.Duration) {
	var before int64
	if n := len(r.Events); n > 0 {
		before = r.Events[n-1].FootprintBytes
	}
	kind := "hold"
	switch {
	case i == 0:
		kind = "setup"
	case rp.Footprint > before:
		kind = "grow"
	case rp.Footprint < before:
		kind = "shrink"
	}
	r.Events = append(r.Events, Event{Sample: i, Kind: kind, FootprintBytes: rp.Footprint,
		LatencyUS: micros(rp.Latency), LatenessUS: micros(late)})
	r.PeakFootprintBytes = max(r.PeakFootprintBytes, rp.Footprint)
}

// newLatency summarises the events' latencies.
func newLatency(events []Event) Latency {
	var l Latency
	var grow, shrink []float64
	for _, e := range events {
		switch e.Kind {
		case "grow":
			grow = append(grow, e.LatencyUS)
		case "shrink":
			shrink = append(shrink, e.LatencyUS)
		case "hold":
			l.Holds++
		}
	}
	l.Grow, l.Shrink = summary(grow), summary(shrink)
	l.All = summary(append(grow, shrink...))
	return l
}

func summary(xs []float64) *stats.Summary {
	s, err := stats.Summarize(xs)
	if err != nil { // no values: latencies are always finite
		return nil
	}
	return &s
}

// newLateness summarises per-sample lateness.
func newLateness(late []time.Duration) Lateness {
	l := Lateness{ThresholdUS: micros(LateThreshold)}
	var sum time.Duration
	for _, d := range late {
		if d > LateThreshold {
			l.LateSamples++
		}
		l.MaxUS = max(l.MaxUS, micros(d))
		sum += d
	}
	if len(late) > 0 {
		l.MeanUS = micros(sum / time.Duration(len(late)))
	}
	return l
}

// newExit describes how a process ended.
func newExit(st proc.Status) Exit {
	if st.Signal == 0 {
		return Exit{Code: st.Code}
	}
	return Exit{Code: -1, Signal: st.SignalName(), SignalNumber: int(st.Signal)}
}

// status decides how the replay ended, from the worker's exit, the
// group's event counts and the schedule's error.
func status(exit Exit, delta cgroup.MemoryEvents, interrupted, failed bool) Status {
	switch {
	case exit.SignalNumber == int(unix.SIGKILL) && delta.OOMKill > 0:
		return OOMKilled
	case interrupted:
		return Interrupted
	case failed || exit.Code != 0:
		return WorkerFailed
	}
	return Completed
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func seconds(d time.Duration) float64 { return d.Seconds() }
