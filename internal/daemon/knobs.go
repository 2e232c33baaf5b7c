package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/journal"
)

// knobs changes cgroup files through the journal: before memqos first
// changes a knob, its original value is in the state file, synced. In dry
// run, knobs only logs.
type knobs struct {
	fs      *cgroup.FS
	journal *journal.Journal
	dry     bool
	log     *slog.Logger
	writes  func(cg, file string) // counts a write, for metrics
}

// set writes value to cg's file, recording the original first.
func (k *knobs) set(cg, file, value, reason string) error {
	k.log.Info("decision", "action", "write", "cgroup", cg, "file", file, "value", value, "reason", reason, "dry_run", k.dry)
	if k.dry {
		return nil
	}
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
	if err := g.Set(file, value); err != nil {
		return err
	}
	if k.writes != nil {
		k.writes(cg, file)
	}
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
	if file == "io.weight" {
		line, _, _ := strings.Cut(s, "\n")
		return line
	}
	return s
}

// reassert writes value to cg's file again after something outside memqos
// set it to outside, which becomes the original to restore.
func (k *knobs) reassert(cg, file, value, outside, reason string) error {
	k.log.Info("decision", "action", "reassert", "cgroup", cg, "file", file, "value", value, "outside_value", outside, "reason", reason, "dry_run", k.dry)
	if k.dry {
		return nil
	}
	if err := k.journal.Update(journal.Entry{Cgroup: cg, File: file, Original: outside}); err != nil {
		return err
	}
	if err := k.fs.Group(cg).Set(file, value); err != nil {
		return err
	}
	if k.writes != nil {
		k.writes(cg, file)
	}
	return nil
}

// restore writes back the original of cg's file, if memqos changed it,
// and forgets it. A cgroup that is gone has nothing to restore.
func (k *knobs) restore(cg, file, reason string) error {
	e, ok := k.journal.Lookup(cg, file)
	if !ok {
		return nil
	}
	k.log.Info("decision", "action", "restore", "cgroup", cg, "file", file, "value", e.Original, "reason", reason, "dry_run", k.dry)
	if k.dry {
		return nil
	}
	g := k.fs.Group(cg)
	if err := g.Set(file, e.Original); err != nil && g.Exists() {
		return err
	}
	return k.journal.Forget(cg, file)
}

// restoreAll restores every knob in the journal, including those a
// crashed daemon left behind.
func (k *knobs) restoreAll(reason string) error {
	var errs []error
	for _, e := range k.journal.Entries() {
		if err := k.restore(e.Cgroup, e.File, reason); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// forgetCgroup drops the journal's entries of a cgroup that is gone.
func (k *knobs) forgetCgroup(cg string) error {
	var errs []error
	for _, e := range k.journal.Entries() {
		if e.Cgroup == cg {
			if !k.fs.Group(cg).Exists() {
				errs = append(errs, k.journal.Forget(cg, e.File))
			}
		}
	}
	return errors.Join(errs...)
}
