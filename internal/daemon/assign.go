package daemon

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Assignment names a member from outside the cgroup tree: the NRI plugin
// classifies a pod and assigns each of its containers' cgroups to a class.
type Assignment struct {
	// Cgroup is the member's path relative to the cgroup mount, such as
	// /kubepods/burstable/pod<uid>/<container id>.
	Cgroup string
	// Class is the name of a class of the configuration.
	Class string
	// Owner says whose cgroup it is, for logs and /status, for example
	// "pod default/agent-1 container main".
	Owner string
}

// assigned is the set of members named by Assign, by cgroup path. The
// loop reads it at each scan; callers on other goroutines change it.
type assigned struct {
	byPath map[string]Assignment
	// outside are the assigned cgroups outside the root, logged once (the
	// loop's only).
	outside map[string]bool
}

// external reports whether members come from assignments (the NRI mode)
// instead of the class patterns under the root.
func (d *Daemon) external() bool { return d.cfg.NRI != nil }

// Assign makes a.Cgroup a member of a.Class (or moves it there) at the
// loop's next scan, which it wakes. A cgroup that does not exist yet is
// governed as soon as it does.
func (d *Daemon) Assign(a Assignment) {
	a.Cgroup = d.opts.FS.Group(a.Cgroup).Name()
	d.amu.Lock()
	d.assigned.byPath[a.Cgroup] = a
	d.amu.Unlock()
	d.wakeLoop()
}

// Unassign stops governing the member at cgroup (restoring its knobs) at
// the loop's next scan.
func (d *Daemon) Unassign(cgroup string) {
	d.amu.Lock()
	delete(d.assigned.byPath, d.opts.FS.Group(cgroup).Name())
	d.amu.Unlock()
	d.wakeLoop()
}

// SetAssigned replaces every assignment with as: the NRI plugin's
// synchronization with the runtime, after it connects. Members in both
// the old and the new set are left as they are, so nothing is applied
// twice.
func (d *Daemon) SetAssigned(as []Assignment) {
	next := map[string]Assignment{}
	for _, a := range as {
		a.Cgroup = d.opts.FS.Group(a.Cgroup).Name()
		next[a.Cgroup] = a
	}
	d.amu.Lock()
	d.assigned.byPath = next
	d.amu.Unlock()
	d.wakeLoop()
}

// wakeLoop asks the loop to scan members now.
func (d *Daemon) wakeLoop() {
	select {
	case d.wake <- struct{}{}:
	default: // a scan is already due
	}
}

// Register adds collectors (the NRI plugin's) to the daemon's metrics, so
// that they are served with them.
func (d *Daemon) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := d.metrics.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
