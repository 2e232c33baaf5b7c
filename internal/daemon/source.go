package daemon

import (
	"maps"
	"strings"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
)

// memberSource names the cgroups that should be members. There are two:
// the tree below the root with the classes' patterns (treeSource), and
// the NRI plugin's assignments (assignSource).
type memberSource interface {
	// events are the groups created and removed that the source follows,
	// nil if it follows none (assignments wake the loop themselves).
	events() <-chan cgroup.TreeEvent
	// seen takes one of them.
	seen(ev cgroup.TreeEvent)
	// wanted returns the cgroups that should be members now, by path,
	// and whether a cgroup it names does not exist yet (the loop asks
	// again at its next tick).
	wanted() (map[string]want, bool)
	close()
}

// want is a cgroup's class, and whose cgroup it is.
type want struct {
	class *config.Class
	owner string
}

// treeSource follows the groups below the root: it lists them once, then
// takes the tree watcher's events, and classifies each group by the
// classes' patterns.
type treeSource struct {
	cfg   *config.Config
	root  *cgroup.Group
	ev    <-chan cgroup.TreeEvent
	stop  func()
	known map[string]bool // by path relative to the mount
}

// newTreeSource lists the groups below root and follows the changes on
// ev, or on a tree watcher of its own if ev is nil.
func newTreeSource(cfg *config.Config, fsys *cgroup.FS, root *cgroup.Group, ev <-chan cgroup.TreeEvent) (*treeSource, error) {
	t := &treeSource{cfg: cfg, root: root, ev: ev, stop: func() {}, known: map[string]bool{}}
	if ev == nil {
		w, err := fsys.WatchTree(root.Name())
		if err != nil {
			return nil, err
		}
		t.ev, t.stop = w.Events(), func() { w.Close() }
	}
	rels, err := scanTree(root.Path())
	if err != nil {
		t.stop()
		return nil, err
	}
	for _, rel := range rels {
		t.known[root.Child(rel).Name()] = true
	}
	return t, nil
}

func (t *treeSource) events() <-chan cgroup.TreeEvent { return t.ev }

func (t *treeSource) seen(ev cgroup.TreeEvent) {
	switch ev.Kind {
	case cgroup.Created:
		t.known[ev.Path] = true
	case cgroup.Removed:
		delete(t.known, ev.Path)
	}
}

func (t *treeSource) wanted() (map[string]want, bool) {
	out := map[string]want{}
	prefix := t.root.Name() + "/"
	for p := range t.known {
		if rel, ok := strings.CutPrefix(p, prefix); ok {
			if c := classify(t.cfg, rel); c != nil {
				out[p] = want{class: c}
			}
		}
	}
	return out, false
}

func (t *treeSource) close() { t.stop() }

// assignSource is the members the NRI plugin assigned (Daemon.Assign).
type assignSource struct{ d *Daemon }

func (assignSource) events() <-chan cgroup.TreeEvent { return nil }
func (assignSource) seen(cgroup.TreeEvent)           {}
func (assignSource) close()                          {}

// wanted returns the assigned members that exist under the root, by
// path, with their classes; it logs and skips the ones outside the root
// (once each) and the ones of a class the configuration does not have,
// and reports whether some do not exist yet.
func (s assignSource) wanted() (out map[string]want, missing bool) {
	d := s.d
	d.amu.Lock()
	as := maps.Clone(d.assigned.byPath)
	d.amu.Unlock()
	out = map[string]want{}
	root := d.root.Name() + "/"
	for p, a := range as {
		switch {
		case !strings.HasPrefix(p, root):
			if !d.assigned.outside[p] {
				d.assigned.outside[p] = true
				d.log.Warn("member outside the root is not governed", "cgroup", p, "owner", a.Owner, "root", d.root.Name())
			}
		case !d.opts.FS.Group(p).Exists():
			missing = true
		case d.cfg.Class(a.Class) == nil:
			d.log.Error("assigned to a class the configuration does not have", "cgroup", p, "class", a.Class, "owner", a.Owner)
		default:
			out[p] = want{class: d.cfg.Class(a.Class), owner: a.Owner}
		}
	}
	return out, missing
}
