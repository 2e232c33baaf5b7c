package cgroup

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Limit is a memory limit in bytes. Unlimited is written as "max".
type Limit int64

// Unlimited is the "max" value of a memory limit.
const Unlimited Limit = -1

// String returns the limit as cgroupfs spells it.
func (l Limit) String() string {
	if l < 0 {
		return "max"
	}
	return strconv.FormatInt(int64(l), 10)
}

// ParseLimit parses a limit as cgroupfs prints it: a byte count or "max".
func ParseLimit(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	if s == "max" {
		return Unlimited, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("invalid memory limit %q", s)
	}
	return Limit(v), nil
}

// Memory knob file names.
const (
	MemoryMax     = "memory.max"
	MemoryHigh    = "memory.high"
	MemoryLow     = "memory.low"
	MemoryMin     = "memory.min"
	MemorySwapMax = "memory.swap.max"
)

// SetLimit writes limit to knob, one of the Memory* knob names.
func (g *Group) SetLimit(knob string, limit Limit) error {
	return g.write(knob, limit.String())
}

// Limit reads knob, one of the Memory* knob names.
func (g *Group) Limit(knob string) (Limit, error) {
	s, err := g.ReadString(knob)
	if err != nil {
		return 0, err
	}
	l, err := ParseLimit(s)
	if err != nil {
		return 0, &FileError{Op: "parse", Path: filepath.Join(g.Path(), knob), Err: err}
	}
	return l, nil
}

// MemoryCurrent returns memory.current: the bytes charged to g and its
// descendants.
func (g *Group) MemoryCurrent() (uint64, error) { return g.ReadUint("memory.current") }

// MemoryPeak returns memory.peak: the highest memory.current seen (since
// the group was created, or since this file descriptor's last reset on
// kernels that support it).
func (g *Group) MemoryPeak() (uint64, error) { return g.ReadUint("memory.peak") }

// MemoryEvents counts the events of memory.events or memory.events.local.
type MemoryEvents struct {
	Low          uint64 `json:"low"`
	High         uint64 `json:"high"`
	Max          uint64 `json:"max"`
	OOM          uint64 `json:"oom"`
	OOMKill      uint64 `json:"oom_kill"`
	OOMGroupKill uint64 `json:"oom_group_kill"`
}

// Sub returns e - prev, field by field: the events between two readings.
func (e MemoryEvents) Sub(prev MemoryEvents) MemoryEvents {
	return MemoryEvents{
		Low: e.Low - prev.Low, High: e.High - prev.High, Max: e.Max - prev.Max,
		OOM: e.OOM - prev.OOM, OOMKill: e.OOMKill - prev.OOMKill,
		OOMGroupKill: e.OOMGroupKill - prev.OOMGroupKill,
	}
}

// MemoryEvents reads memory.events, which counts events in g and its
// descendants.
func (g *Group) MemoryEvents() (MemoryEvents, error) { return g.memoryEvents("memory.events") }

// MemoryEventsLocal reads memory.events.local, which counts events of g
// alone.
func (g *Group) MemoryEventsLocal() (MemoryEvents, error) {
	return g.memoryEvents("memory.events.local")
}

func (g *Group) memoryEvents(name string) (MemoryEvents, error) {
	kv, err := g.readKeyed(name)
	if err != nil {
		return MemoryEvents{}, err
	}
	return MemoryEvents{
		Low: kv["low"], High: kv["high"], Max: kv["max"], OOM: kv["oom"],
		OOMKill: kv["oom_kill"], OOMGroupKill: kv["oom_group_kill"],
	}, nil
}

// MemoryStat is memory.stat: every counter by name, in bytes for sizes.
type MemoryStat map[string]uint64

// Anon returns the anonymous memory in bytes.
func (s MemoryStat) Anon() uint64 { return s["anon"] }

// File returns the page cache in bytes.
func (s MemoryStat) File() uint64 { return s["file"] }

// MemoryStat reads memory.stat.
func (g *Group) MemoryStat() (MemoryStat, error) {
	kv, err := g.readKeyed("memory.stat")
	return MemoryStat(kv), err
}

// readKeyed reads a flat keyed file of "key value" lines.
func (g *Group) readKeyed(name string) (map[string]uint64, error) {
	s, err := g.ReadString(name)
	if err != nil {
		return nil, err
	}
	kv, err := parseKeyed(s)
	if err != nil {
		return nil, &FileError{Op: "parse", Path: filepath.Join(g.Path(), name), Err: err}
	}
	return kv, nil
}

func parseKeyed(s string) (map[string]uint64, error) {
	kv := make(map[string]uint64)
	for i, line := range strings.Split(s, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("line %d: want \"key value\", got %q", i+1, line)
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: %s: %w", i+1, f[0], err)
		}
		kv[f[0]] = v
	}
	return kv, nil
}
