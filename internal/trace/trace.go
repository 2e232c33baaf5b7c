package trace

import "time"

// FormatVersion is the value of the "format" field of native traces this
// package writes; Decode reads only this version.
const FormatVersion = "memqos-trace/1"

// Trace is a memory trace of one workload. Encode writes it with the
// current FormatVersion.
type Trace struct {
	// Name identifies the workload, for example a task id.
	Name string `json:"name"`
	// Source says where the trace came from, as free text, for example
	// "podman-stats:dask__dask-11628.json" or "memqos record".
	Source string `json:"source"`
	// IntervalMS is the nominal sampling interval in milliseconds; 0 means
	// unknown.
	IntervalMS int64 `json:"interval_ms"`
	// Samples are in non-decreasing time order; there is at least one.
	Samples []Sample `json:"samples"`
	// Events are in non-decreasing time order; they are optional.
	Events []Event `json:"events,omitempty"`
}

// Sample is the memory state of the workload at one time. All sizes are
// bytes; optional fields are nil when unknown.
type Sample struct {
	// TimeMS is the offset from the start of the trace in milliseconds.
	TimeMS int64 `json:"t_ms"`
	// Total is the memory charged to the workload (memory.current).
	Total int64 `json:"total"`
	// Anon and File split Total into anonymous and file-backed memory.
	Anon *int64 `json:"anon,omitempty"`
	File *int64 `json:"file,omitempty"`
	// MemoryEvents are the cumulative memory.events counters.
	MemoryEvents *MemoryEvents `json:"memory_events,omitempty"`
	// Pressure is the memory PSI (memory.pressure).
	Pressure *Pressure `json:"pressure,omitempty"`
}

// MemoryEvents are the cumulative counters of a cgroup's memory.events.
type MemoryEvents struct {
	Low          int64 `json:"low"`
	High         int64 `json:"high"`
	Max          int64 `json:"max"`
	OOM          int64 `json:"oom"`
	OOMKill      int64 `json:"oom_kill"`
	OOMGroupKill int64 `json:"oom_group_kill"`
}

// Pressure is memory PSI: the "some" and "full" lines of memory.pressure.
type Pressure struct {
	Some PressureLine `json:"some"`
	Full PressureLine `json:"full"`
}

// PressureLine is one PSI line: the percentage of wall time stalled,
// averaged over 10, 60 and 300 s, and the total stall time in µs.
type PressureLine struct {
	Avg10   float64 `json:"avg10"`
	Avg60   float64 `json:"avg60"`
	Avg300  float64 `json:"avg300"`
	TotalUS int64   `json:"total_us"`
}

// Event marks something that happened during the trace, such as a phase
// change. Kind is a short machine-readable word; Text is free text.
type Event struct {
	TimeMS int64  `json:"t_ms"`
	Kind   string `json:"kind"`
	Text   string `json:"text,omitempty"`
}

// Offset returns the sample's offset from the start of the trace.
func (s Sample) Offset() time.Duration { return ms(s.TimeMS) }

// Offset returns the event's offset from the start of the trace.
func (e Event) Offset() time.Duration { return ms(e.TimeMS) }

// Interval returns the nominal sampling interval; 0 means unknown.
func (t *Trace) Interval() time.Duration { return ms(t.IntervalMS) }

// Duration returns the time from the first to the last sample.
func (t *Trace) Duration() time.Duration {
	if len(t.Samples) == 0 {
		return 0
	}
	return ms(t.Samples[len(t.Samples)-1].TimeMS - t.Samples[0].TimeMS)
}

func ms(v int64) time.Duration { return time.Duration(v) * time.Millisecond }
