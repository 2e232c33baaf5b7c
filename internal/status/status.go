package status

import (
	"time"

	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/journal"
)

// Status is the daemon's live state, as /status serves it and memqos
// status shows it.
type Status struct {
	Backend string `json:"backend"`
	// Actuators are the actuators in force, in the order they act.
	Actuators []string      `json:"actuators,omitempty"`
	Root      string        `json:"root"`
	DryRun    bool          `json:"dry_run"`
	Updated   time.Time     `json:"updated"`
	Contended bool          `json:"contended"`
	RootUsage uint64        `json:"root_usage_bytes"`
	RootLimit uint64        `json:"root_limit_bytes"`
	Classes   []ClassStatus `json:"classes"`
	// Knobs are the knobs memqos has changed, with their originals.
	Knobs []journal.Entry `json:"knobs"`
}

// ClassStatus is one class in Status.
type ClassStatus struct {
	Name     string          `json:"name"`
	Priority config.Priority `json:"priority"`
	Pressure bool            `json:"pressure,omitempty"`
	// Slowed (LOW only): a HIGH class it yields to is under pressure.
	Slowed   bool              `json:"slowed,omitempty"`
	Delay    string            `json:"delay,omitempty"`
	Members  []MemberStatus    `json:"members"`
	Counters map[string]uint64 `json:"counters,omitempty"`
}

// MemberStatus is one member in Status.
type MemberStatus struct {
	Cgroup string `json:"cgroup"`
	// Owner is whose cgroup it is (the pod and container, in the NRI
	// mode).
	Owner  string  `json:"owner,omitempty"`
	Usage  uint64  `json:"usage_bytes"`
	High   *uint64 `json:"memory_high_bytes,omitempty"` // nil for max
	Frozen bool    `json:"frozen,omitempty"`
}
