package daemon

import (
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/policy"
)

// member is a cgroup that belongs to a class.
type member struct {
	path  string // relative to the cgroup mount, as policy.Member.Path
	class *config.Class
	group *cgroup.Group
	id    uint64 // cgroup id (directory inode)
	added time.Time
	owner string // whose cgroup it is, for assigned members
}

// trigger is a detector's report that a HIGH class is under pressure.
type trigger struct {
	class string
	at    time.Time
}

// backend is how the daemon acts on members and learns of pressure.
// Methods are called from the daemon's loop only.
type backend interface {
	// name is "structops" or "cgroupfs", with its detector source.
	name() string
	mode() policy.Mode
	// add starts governing a member (attach ops, count its faults, watch
	// its pressure); remove stops, also for a member that is gone.
	add(m *member) error
	remove(m *member) error
	// lift detaches (on) or reattaches (off) a LOW member's delay, for
	// escalation; backends without a delay do nothing.
	lift(m *member, on bool) error
	// program sets the detector's gate and the LOW classes' delays.
	program(p policy.Plan) error
	// lastTrigger is when the detector last reported pressure in a HIGH
	// class; zero if never.
	lastTrigger(class string) time.Time
	// triggers delivers detector reports as they happen, to wake the loop.
	triggers() <-chan trigger
	// counters are the backend's counters for a class, by name.
	counters(class string) map[string]uint64
	close() error
}
