package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// TreeEventKind says whether a group appeared or disappeared.
type TreeEventKind int

// Kinds of TreeEvent.
const (
	Created TreeEventKind = iota + 1
	Removed
)

func (k TreeEventKind) String() string {
	switch k {
	case Created:
		return "created"
	case Removed:
		return "removed"
	}
	return fmt.Sprintf("TreeEventKind(%d)", int(k))
}

// TreeEvent reports a group created or removed below a watched group.
type TreeEvent struct {
	// Path is the group's path relative to the hierarchy's root, as
	// Group.Name returns it, for example "/agents/low/s1".
	Path string
	Kind TreeEventKind
}

// treeMask is what TreeWatcher watches on each directory. A renamed group
// is reported as removed at its old path and created at its new one.
const treeMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
	unix.IN_DELETE_SELF | unix.IN_ONLYDIR

// TreeWatcher reports the groups created and removed anywhere below one
// group, recursively, from inotify events rather than polling.
//
// One goroutine reads the kernel's events and sends them on Events. It
// reports every group that exists when watching starts as Created first,
// then each change. A group that appears is watched before its children are
// listed, so children created in between are not missed, and each path is
// reported Created once until it is reported Removed. inotify is not
// recursive, so a group is watched only once the goroutine has handled its
// creation: a group removed before then is still reported (Created, then
// Removed), but groups created and removed inside it meanwhile are not. The
// goroutine's lag is a few milliseconds (see the guest test's log) unless
// the receiver falls behind. If the kernel's event
// queue overflows (IN_Q_OVERFLOW), the watcher lists the whole tree again
// and reports the differences, so no change is lost: a group created and
// removed while the queue was full is not reported at all.
//
// It costs one inotify watch per group (fs.inotify.max_user_watches) and no
// thread while idle. It needs read access to the directories, nothing more.
//
// Events is safe to call from any goroutine; Close is safe to call from any
// goroutine, any number of times.
type TreeWatcher struct {
	fsys   *FS
	rel    string
	in     *inotify
	events chan TreeEvent
	done   chan struct{}
	once   sync.Once
	ended  chan struct{}
	result result // why the watcher ended

	// Owned by the reading goroutine.
	wds   map[int]string // watch descriptor → path
	known map[string]int // path of each reported group → its watch descriptor, or -1
}

// WatchTree starts watching the groups below rel, relative to the root
// ("" or "/" is the whole hierarchy). rel itself is watched but not
// reported. It fails with fs.ErrNotExist if rel does not exist, and with
// fs.ErrPermission if it may not be read.
func (fsys *FS) WatchTree(rel string) (*TreeWatcher, error) {
	in, err := newInotify()
	if err != nil {
		return nil, err
	}
	w := &TreeWatcher{
		fsys: fsys, rel: fsys.Group(rel).Name(), in: in,
		events: make(chan TreeEvent, 64), done: make(chan struct{}), ended: make(chan struct{}),
		wds: make(map[int]string), known: make(map[string]int),
	}
	wd, err := in.add(w.abs(w.rel), treeMask)
	if err != nil {
		in.close()
		return nil, err
	}
	w.wds[wd] = w.rel
	go w.run()
	return w, nil
}

// Events returns the channel of changes. It is closed when the watcher
// ends, after Close or on an error that Err returns.
func (w *TreeWatcher) Events() <-chan TreeEvent { return w.events }

// Err returns why the watcher ended on its own (for example, the watched
// group was removed, or no more inotify watches could be added), or nil. It
// is meaningful once Events is closed.
func (w *TreeWatcher) Err() error { return w.result.get() }

// Close stops the watcher, closes Events and releases the inotify instance.
// It returns once the watcher's goroutine has ended. Events not yet received
// are dropped.
func (w *TreeWatcher) Close() error {
	var err error
	w.once.Do(func() {
		close(w.done)
		err = w.in.close()
	})
	<-w.ended
	return err
}

// errStopped ends the goroutine quietly after Close.
var errStopped = errors.New("watcher closed")

// run is the watcher's goroutine.
func (w *TreeWatcher) run() {
	err := w.loop()
	if w.stopped() || errors.Is(err, errStopped) {
		err = nil // whatever failed, failed because Close closed the fd
	}
	w.result.set(err)
	close(w.events)
	close(w.ended)
}

// stopped reports whether Close has been called.
func (w *TreeWatcher) stopped() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

func (w *TreeWatcher) loop() error {
	if err := w.scanChildren(w.rel); err != nil {
		return err
	}
	buf := make([]byte, inotifyBufSize)
	for {
		evs, err := w.in.read(buf)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if err := w.handle(ev); err != nil {
				return err
			}
		}
	}
}

// handle applies one inotify event.
func (w *TreeWatcher) handle(ev inotifyEvent) error {
	if ev.mask&unix.IN_Q_OVERFLOW != 0 {
		return w.rescan()
	}
	dir, ok := w.wds[ev.wd]
	if ev.mask&unix.IN_IGNORED != 0 {
		delete(w.wds, ev.wd)
		return nil
	}
	if !ok {
		return nil // a watch removed with rm whose events were queued
	}
	switch {
	case ev.mask&unix.IN_DELETE_SELF != 0 && dir == w.rel:
		return w.rootRemoved()
	case ev.mask&unix.IN_ISDIR == 0 || ev.name == "":
		return nil
	case ev.mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0:
		return w.created(path.Join(dir, ev.name))
	case ev.mask&(unix.IN_DELETE|unix.IN_MOVED_FROM) != 0:
		return w.removed(path.Join(dir, ev.name))
	}
	return nil
}

// created reports p, watches it, then lists its children: a child made
// before the watch existed is found by the listing, one made after it by an
// event, and known deduplicates the two.
func (w *TreeWatcher) created(p string) error {
	if _, ok := w.known[p]; ok {
		return nil
	}
	wd, err := w.in.add(w.abs(p), treeMask)
	switch {
	case errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR):
		// Gone already: its parent's IN_DELETE follows, so report the pair.
		wd = -1
	case err != nil:
		return fmt.Errorf("watch %s: %w", p, err)
	}
	w.known[p] = wd
	if wd >= 0 {
		w.wds[wd] = p
	}
	if err := w.send(TreeEvent{Path: p, Kind: Created}); err != nil {
		return err
	}
	if wd < 0 {
		return nil
	}
	return w.scanChildren(p)
}

// scanChildren reports the subdirectories of p not yet known.
func (w *TreeWatcher) scanChildren(p string) error {
	entries, err := os.ReadDir(w.abs(p))
	if errors.Is(err, unix.ENOENT) && p != w.rel {
		return nil // removed meanwhile; its IN_DELETE follows
	}
	if err != nil {
		return classify("readdir", w.abs(p), err)
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := w.created(path.Join(p, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// removed reports p and any known descendant of p, deepest first, and stops
// watching them.
func (w *TreeWatcher) removed(p string) error {
	for _, q := range w.knownBelow(p) {
		if wd := w.known[q]; wd >= 0 {
			w.in.rm(wd) // fails harmlessly if the kernel dropped it already
			delete(w.wds, wd)
		}
		delete(w.known, q)
		if err := w.send(TreeEvent{Path: q, Kind: Removed}); err != nil {
			return err
		}
	}
	return nil
}

// knownBelow returns p, if known, and its known descendants, deepest first.
func (w *TreeWatcher) knownBelow(p string) []string {
	var out []string
	for q := range w.known {
		if isBelow(q, p) {
			out = append(out, q)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(b, a) })
	return out
}

// isBelow reports whether q is p or a descendant of p.
func isBelow(q, p string) bool {
	return q == p || p == "/" || strings.HasPrefix(q, p+"/")
}

// rescan lists the whole tree after lost events and reports the
// differences: groups gone since they were reported, then new ones.
func (w *TreeWatcher) rescan() error {
	present := make(map[string]bool)
	if err := w.list(w.rel, present); err != nil {
		return err
	}
	var gone []string
	for p := range w.known {
		if !present[p] {
			gone = append(gone, p)
		}
	}
	slices.Sort(gone)
	for _, p := range gone {
		if _, still := w.known[p]; still {
			if err := w.removed(p); err != nil {
				return err
			}
		}
	}
	return w.scanNew(w.rel)
}

// list adds every directory below p to present.
func (w *TreeWatcher) list(p string, present map[string]bool) error {
	entries, err := os.ReadDir(w.abs(p))
	if errors.Is(err, unix.ENOENT) && p != w.rel {
		return nil
	}
	if err != nil {
		return classify("readdir", w.abs(p), err)
	}
	for _, e := range entries {
		if e.IsDir() {
			q := path.Join(p, e.Name())
			present[q] = true
			if err := w.list(q, present); err != nil {
				return err
			}
		}
	}
	return nil
}

// scanNew reports the directories below p that are not known, and descends
// into the known ones to find new ones deeper down. A known path whose
// directory was replaced (a new inode, so a new watch descriptor) is
// reported removed and created again: it is a different cgroup.
func (w *TreeWatcher) scanNew(p string) error {
	entries, err := os.ReadDir(w.abs(p))
	if errors.Is(err, unix.ENOENT) && p != w.rel {
		return nil
	}
	if err != nil {
		return classify("readdir", w.abs(p), err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		q := path.Join(p, e.Name())
		if wd, ok := w.known[q]; ok && w.sameDir(q, wd) {
			err = w.scanNew(q)
		} else if err = w.removed(q); err == nil {
			err = w.created(q)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// sameDir reports whether q is still the directory watched as wd.
func (w *TreeWatcher) sameDir(q string, wd int) bool {
	got, err := w.in.add(w.abs(q), treeMask)
	return err == nil && got == wd
}

// rootRemoved reports every known group removed and ends the watcher.
func (w *TreeWatcher) rootRemoved() error {
	for _, p := range w.knownBelow(w.rel) {
		if p == w.rel {
			continue
		}
		delete(w.known, p)
		if err := w.send(TreeEvent{Path: p, Kind: Removed}); err != nil {
			return err
		}
	}
	return &FileError{Op: "watch", Path: w.abs(w.rel), Err: unix.ENOENT, Hint: "the watched group was removed"}
}

// send delivers ev, or gives up when the watcher is closed.
func (w *TreeWatcher) send(ev TreeEvent) error {
	select {
	case w.events <- ev:
		return nil
	case <-w.done:
		return errStopped
	}
}

func (w *TreeWatcher) abs(p string) string { return filepath.Join(w.fsys.Root, p) }
