// Package govern holds the contracts between memqos's daemon and its
// plugins: the Member it governs, the Detectors that tell it of pressure
// in HIGH classes, the Actuators that carry out the policy's intents, and
// the Knobs through which cgroup files are changed and restored.
//
// The daemon calls every plugin method from its control loop only, so a
// plugin needs no locking of its own unless it runs goroutines (a
// detector reading the kernel's events). The implementations live in
// internal/detect and internal/actuate; the daemon chooses them once, by
// one rule, from the host's probe and the configuration.
package govern

import (
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/policy"
)

// Member is a cgroup governed as a member of a class.
type Member struct {
	// Path is the cgroup's path relative to the cgroup mount, as
	// policy.Member.Path.
	Path  string
	Class *config.Class
	Group *cgroup.Group
	// ID is the cgroup id (the directory's inode), as BPF sees it.
	ID    uint64
	Added time.Time
	// Owner says whose cgroup it is, for members assigned from outside.
	Owner string
}

// High reports whether m is in a HIGH class.
func (m *Member) High() bool { return m.Class.Priority == config.High }

// Trigger is a detector's report that a HIGH class is under pressure.
type Trigger struct {
	Class string
	At    time.Time
}

// Detector tells the daemon when a HIGH class is under pressure.
type Detector interface {
	// Name names the detector source: pgfault, psi or events.
	Name() string
	// Add starts watching a member (only HIGH members matter to a
	// detector); Remove stops, also for a member whose cgroup is gone.
	Add(m *Member) error
	Remove(m *Member) error
	// Gate says whether contention is near, so that a detector with a
	// cost on the kernel's hot paths runs only then, and which HIGH
	// classes may report pressure now (armed).
	Gate(near bool, armed map[string]bool) error
	// LastTrigger is when pressure was last seen in a HIGH class; zero if
	// never.
	LastTrigger(class string) time.Time
	// Triggers delivers reports as they happen, to wake the loop.
	Triggers() <-chan Trigger
	// Counters are the detector's counters for a class, by name; nil if
	// it has none.
	Counters(class string) map[string]uint64
	Close() error
}

// Actuator carries out the intents of the policy's plans that it can.
type Actuator interface {
	// Name names the actuator, as configurations and logs do.
	Name() string
	// Add starts acting on a member; Remove stops, also for a member
	// whose cgroup is gone.
	Add(m *Member) error
	Remove(m *Member) error
	// Apply carries out the plan's intents it can, on the members it
	// was given (by path); intents it cannot carry out it ignores.
	Apply(p policy.Plan, members map[string]*Member) error
	Close() error
}

// Leaser is an actuator whose action in the kernel lasts only while the
// daemon renews a lease: Heartbeat renews it, at every turn of the loop,
// so that a daemon that hangs stops acting within the lease.
type Leaser interface {
	Heartbeat() error
}

// Knobs changes cgroup files so that they can be given back: Set records
// a file's original value before its first change, Restore writes it back.
// Do writes a file that holds no state to give back (cgroup.kill,
// memory.reclaim). Every change is logged as a decision. In a dry run,
// Knobs logs and changes nothing.
type Knobs interface {
	Set(cg, file, value, reason string) error
	Restore(cg, file, reason string) error
	Do(cg, file, value, reason string) error
	// Original returns the recorded original of a file memqos changed.
	Original(cg, file string) (string, bool)
}
