// Package policy makes memqos's decisions. It is pure: an Engine reads an
// immutable Snapshot of the cgroups it governs and returns a Plan, the
// knobs to write and the actions to take; it never touches the file
// system, BPF or the clock, so every decision is testable on fake state.
// The daemon (internal/daemon) takes the snapshots and carries out plans.
//
// An Engine is not safe for concurrent use: one goroutine drives it.
package policy

import (
	"math"
	"time"
)

// Max is the value of an unlimited knob ("max" in memory.high).
const Max = math.MaxUint64

// Snapshot is the state of the governed cgroups at one instant.
type Snapshot struct {
	Now time.Time
	// Root is the memory of the subtree memqos owns: its usage and its
	// effective limit (the smallest memory.max or memory.high of the root
	// and its ancestors, or the machine's memory).
	Root Memory
	// Classes are in the configuration's order.
	Classes []ClassState
}

// Memory is a usage and the limit it counts against.
type Memory struct {
	Usage uint64
	Limit uint64
}

// Free returns the memory left under the limit.
func (m Memory) Free() uint64 {
	if m.Usage >= m.Limit {
		return 0
	}
	return m.Limit - m.Usage
}

// ClassState is one class at the snapshot's instant.
type ClassState struct {
	Name string
	// LastTrigger is, for a HIGH class, the last time its detector saw
	// pressure; zero if never.
	LastTrigger time.Time
	Members     []Member
}

// Member is one member cgroup of a class.
type Member struct {
	// Path names the cgroup, relative to the cgroup mount.
	Path string
	// Usage is memory.current.
	Usage uint64
	// High is memory.high as it is now, Max if unlimited.
	High uint64
	// Reserved (HIGH members) is the protection the member has of its
	// own: the memory.low or memory.min its class protects with, as set
	// by others (podman's --memory-reservation, an administrator) before
	// memqos changed it. memqos raises protection above it, never lowers
	// it.
	Reserved uint64
	// MemStall is the cumulative memory stall (memory.pressure, some
	// total) of the cgroup.
	MemStall time.Duration
	// Frozen says the cgroup is frozen.
	Frozen bool
	// AnonTHP is its anonymous memory backed by transparent huge pages
	// (memory.stat anon_thp), which the charge delay never reaches.
	AnonTHP uint64
}
