package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/govern"
	"github.com/memqos/memqos/internal/journal"
)

// knobWriter is how the daemon and its actuators change the cgroup tree:
// knob files through the journal, and the root's and classes' groups and
// controllers. The daemon's constructor picks the journaled writer, or
// the dry one for a dry run; nothing else in the daemon asks which.
type knobWriter interface {
	govern.Knobs
	// Reassert writes value to cg's file again after something outside
	// memqos set it to outside, which becomes the original to restore.
	Reassert(cg, file, value, outside, reason string) error
	// Read returns cg's file as memqos left it (in a dry run, as it would
	// have), as a value to restore: see readOriginal.
	Read(g *cgroup.Group, file string) (string, error)
	// RestoreAll restores every knob in the journal, including those a
	// crashed daemon left behind.
	RestoreAll(reason string) error
	// ForgetGone drops the journal's entries of cg if it is gone; Forget
	// drops one entry whatever its state.
	ForgetGone(cg string) error
	Forget(cg, file string) error
	Entries() []journal.Entry
	// Create creates a group; Enable enables a controller for g's
	// children.
	Create(fsys *cgroup.FS, g *cgroup.Group) error
	Enable(g *cgroup.Group, ctrl string) error
}

// journaled changes cgroup files through the journal: before memqos first
// changes a knob, its original value is in the state file, synced.
type journaled struct {
	fs      *cgroup.FS
	journal *journal.Journal
	log     *slog.Logger
	writes  func(cg, file string) // counts a write, for metrics
}

// Set writes value to cg's file, recording the original first.
func (k *journaled) Set(cg, file, value, reason string) error {
	k.log.Info("decision", "action", "write", "cgroup", cg, "file", file, "value", value, "reason", reason, "dry_run", false)
	g := k.fs.Group(cg)
	if _, ok := k.journal.Lookup(cg, file); !ok {
		orig, err := readOriginal(g, file)
		if err != nil {
			return err
		}
		if orig == value {
			// Already so (memqos run --class sets memory.max itself):
			// nothing changes, so nothing is to be restored.
			return nil
		}
		if err := k.journal.Record(journal.Entry{Cgroup: cg, File: file, Original: orig}); err != nil {
			return err
		}
		// Recording syncs the state file, which takes long enough for
		// someone else to write the knob meanwhile (crun applying a new
		// container's limits): read it again, so that their value, not
		// the one before it, is the original. Only the microseconds
		// between this read and the write below are left open.
		if now, err := readOriginal(g, file); err == nil && now != orig {
			if err := k.journal.Update(journal.Entry{Cgroup: cg, File: file, Original: now}); err != nil {
				return err
			}
		}
	}
	return k.write(g, file, value)
}

func (k *journaled) write(g *cgroup.Group, file, value string) error {
	if err := g.Set(file, value); err != nil {
		return err
	}
	if k.writes != nil {
		k.writes(g.Name(), file)
	}
	return nil
}

// Do writes a file that holds no state to restore.
func (k *journaled) Do(cg, file, value, reason string) error {
	k.log.Info("decision", "action", "write", "cgroup", cg, "file", file, "value", value, "reason", reason, "dry_run", false)
	return k.write(k.fs.Group(cg), file, value)
}

func (k *journaled) Reassert(cg, file, value, outside, reason string) error {
	k.log.Info("decision", "action", "reassert", "cgroup", cg, "file", file, "value", value, "outside_value", outside, "reason", reason, "dry_run", false)
	if err := k.journal.Update(journal.Entry{Cgroup: cg, File: file, Original: outside}); err != nil {
		return err
	}
	return k.write(k.fs.Group(cg), file, value)
}

func (k *journaled) Read(g *cgroup.Group, file string) (string, error) { return readOriginal(g, file) }

func (k *journaled) Original(cg, file string) (string, bool) {
	e, ok := k.journal.Lookup(cg, file)
	return e.Original, ok
}

// Restore writes back the original of cg's file, if memqos changed it,
// and forgets it. A cgroup that is gone has nothing to restore.
func (k *journaled) Restore(cg, file, reason string) error {
	e, ok := k.journal.Lookup(cg, file)
	if !ok {
		return nil
	}
	k.log.Info("decision", "action", "restore", "cgroup", cg, "file", file, "value", e.Original, "reason", reason, "dry_run", false)
	g := k.fs.Group(cg)
	if err := g.Set(file, e.Original); err != nil && g.Exists() {
		return err
	}
	return k.journal.Forget(cg, file)
}

func (k *journaled) RestoreAll(reason string) error {
	var errs []error
	for _, e := range k.journal.Entries() {
		errs = append(errs, k.Restore(e.Cgroup, e.File, reason))
	}
	return errors.Join(errs...)
}

func (k *journaled) ForgetGone(cg string) error {
	if k.fs.Group(cg).Exists() {
		return nil
	}
	var errs []error
	for _, e := range k.journal.Entries() {
		if e.Cgroup == cg {
			errs = append(errs, k.journal.Forget(cg, e.File))
		}
	}
	return errors.Join(errs...)
}

func (k *journaled) Forget(cg, file string) error { return k.journal.Forget(cg, file) }

func (k *journaled) Entries() []journal.Entry { return k.journal.Entries() }

func (k *journaled) Create(fsys *cgroup.FS, g *cgroup.Group) error {
	// Another process, such as memqos run --class, may create it between
	// the daemon's check and this mkdir.
	if _, err := fsys.Create(g.Name()); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

func (k *journaled) Enable(g *cgroup.Group, ctrl string) error { return g.EnableControllers(ctrl) }

// dry logs every change and makes none. It remembers what it would have
// written, so that the daemon sees the tree as a live run would have left
// it (a held knob is not "changed from outside" at every tick).
type dry struct {
	fs      *cgroup.FS
	journal *journal.Journal // read only: what a previous daemon left
	log     *slog.Logger
	would   map[string]string // cgroup\x00file -> value
	orig    map[string]string // cgroup\x00file -> original
}

func newDry(fs *cgroup.FS, j *journal.Journal, log *slog.Logger) *dry {
	return &dry{fs: fs, journal: j, log: log, would: map[string]string{}, orig: map[string]string{}}
}

func (k *dry) Set(cg, file, value, reason string) error {
	k.log.Info("decision", "action", "write", "cgroup", cg, "file", file, "value", value, "reason", reason, "dry_run", true)
	key := cg + "\x00" + file
	if _, ok := k.orig[key]; !ok {
		if cur, err := readOriginal(k.fs.Group(cg), file); err == nil {
			k.orig[key] = cur
		}
	}
	k.would[key] = value
	return nil
}

func (k *dry) Do(cg, file, value, reason string) error {
	k.log.Info("decision", "action", "write", "cgroup", cg, "file", file, "value", value, "reason", reason, "dry_run", true)
	return nil
}

func (k *dry) Reassert(cg, file, value, outside, reason string) error {
	k.log.Info("decision", "action", "reassert", "cgroup", cg, "file", file, "value", value, "outside_value", outside, "reason", reason, "dry_run", true)
	k.would[cg+"\x00"+file] = value
	return nil
}

func (k *dry) Read(g *cgroup.Group, file string) (string, error) {
	if v, ok := k.would[g.Name()+"\x00"+file]; ok {
		return v, nil
	}
	return readOriginal(g, file)
}

func (k *dry) Original(cg, file string) (string, bool) {
	v, ok := k.orig[cg+"\x00"+file]
	return v, ok
}

func (k *dry) Restore(cg, file, reason string) error {
	key := cg + "\x00" + file
	if v, ok := k.orig[key]; ok {
		k.log.Info("decision", "action", "restore", "cgroup", cg, "file", file, "value", v, "reason", reason, "dry_run", true)
		delete(k.orig, key)
		delete(k.would, key)
	} else if e, ok := k.journal.Lookup(cg, file); ok {
		k.log.Info("decision", "action", "restore", "cgroup", cg, "file", file, "value", e.Original, "reason", reason, "dry_run", true)
	}
	return nil
}

func (k *dry) RestoreAll(reason string) error {
	for _, e := range k.journal.Entries() {
		k.Restore(e.Cgroup, e.File, reason)
	}
	for key := range k.orig {
		cg, file, _ := strings.Cut(key, "\x00")
		k.Restore(cg, file, reason)
	}
	return nil
}

func (k *dry) ForgetGone(cg string) error {
	for key := range k.orig {
		if c, _, _ := strings.Cut(key, "\x00"); c == cg {
			delete(k.orig, key)
			delete(k.would, key)
		}
	}
	return nil
}

func (k *dry) Forget(cg, file string) error {
	delete(k.orig, cg+"\x00"+file)
	delete(k.would, cg+"\x00"+file)
	return nil
}

// Entries are what a previous daemon left, and what this one would have
// changed, with their originals.
func (k *dry) Entries() []journal.Entry {
	out := k.journal.Entries()
	for key, v := range k.orig {
		cg, file, _ := strings.Cut(key, "\x00")
		out = append(out, journal.Entry{Cgroup: cg, File: file, Original: v})
	}
	slices.SortFunc(out, func(a, b journal.Entry) int {
		return strings.Compare(a.Cgroup+"\x00"+a.File, b.Cgroup+"\x00"+b.File)
	})
	return out
}

func (k *dry) Create(_ *cgroup.FS, g *cgroup.Group) error {
	k.log.Info("decision", "action", "mkdir", "cgroup", g.Name(), "dry_run", true)
	return nil
}

func (k *dry) Enable(g *cgroup.Group, ctrl string) error {
	k.log.Info("decision", "action", "enable", "cgroup", g.Name(), "controller", ctrl, "dry_run", true)
	return nil
}

// readOriginal reads g's file as a value to restore later. A value that
// could not be written back (empty, or not of the file's form) is read
// once more, since a writer may be between its truncate and its write;
// if it is still not restorable, the error names the file, and nothing
// may be recorded.
func readOriginal(g *cgroup.Group, file string) (string, error) {
	var err error
	for range 2 {
		var s string
		if s, err = g.ReadString(file); err != nil {
			return "", err
		}
		s = originalValue(file, s)
		if err = cgroup.CheckKnob(file, s); err == nil {
			return s, nil
		}
	}
	return "", fmt.Errorf("%s: not a value to restore, so memqos leaves the file alone: %w", filepath.Join(g.Path(), file), err)
}

// originalValue is what to write back to restore a file read as s: the
// default line of io.weight, the whole value otherwise.
func originalValue(file, s string) string {
	if file == cgroup.IOWeight {
		line, _, _ := strings.Cut(s, "\n")
		return line
	}
	return s
}
