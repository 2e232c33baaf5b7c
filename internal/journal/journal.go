package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/google/renameio/v2"
)

// format names the state file's format.
const format = "memqos-state/1"

// Entry is one knob memqos changed: the cgroup (relative to the cgroup
// mount), the file, and the value it had before memqos first changed it.
type Entry struct {
	Cgroup   string `json:"cgroup"`
	File     string `json:"file"`
	Original string `json:"original"`
}

func (e Entry) key() string { return e.Cgroup + "\x00" + e.File }

// Journal is the state file: every knob memqos has changed and not yet
// restored, with its original value. Record writes the file and syncs it
// before it returns, so the original is on disk before the knob changes;
// a daemon that starts after a crash restores what the journal holds.
// A Journal is safe for concurrent use.
type Journal struct {
	path    string
	mu      sync.Mutex
	entries map[string]Entry
	pid     int
}

type file struct {
	Format  string  `json:"format"`
	PID     int     `json:"pid"`
	Entries []Entry `json:"entries"`
}

// Open reads the state file at path, if there is one; the entries it
// holds are knobs a previous daemon left changed. It creates the file's
// directory.
func Open(path string) (*Journal, error) {
	j := &Journal{path: path, entries: map[string]Entry{}, pid: os.Getpid()}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return j, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var f file
	if err := json.Unmarshal(b, &f); err != nil || f.Format != format {
		return nil, fmt.Errorf("state file %s is not a %s file (move it away to start afresh; it may hold knob values to restore by hand): %v", path, format, err)
	}
	for _, e := range f.Entries {
		j.entries[e.key()] = e
	}
	return j, nil
}

// Record notes e's original value, unless the knob is already recorded
// (the first original is the one to restore), and syncs the state file.
func (j *Journal) Record(e Entry) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, ok := j.entries[e.key()]; ok {
		return nil
	}
	j.entries[e.key()] = e
	if err := j.save(); err != nil {
		delete(j.entries, e.key())
		return err
	}
	return nil
}

// Lookup returns the recorded original of a knob.
func (j *Journal) Lookup(cgroup, file string) (Entry, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	e, ok := j.entries[Entry{Cgroup: cgroup, File: file}.key()]
	return e, ok
}

// Update replaces the recorded original of a knob that something outside
// memqos changed while memqos held it: the outside value is the one to
// restore. It syncs the state file before it returns.
func (j *Journal) Update(e Entry) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	old, had := j.entries[e.key()]
	j.entries[e.key()] = e
	if err := j.save(); err != nil {
		if had {
			j.entries[e.key()] = old
		} else {
			delete(j.entries, e.key())
		}
		return err
	}
	return nil
}

// Forget drops a knob once it is restored, or once its cgroup is gone.
func (j *Journal) Forget(cgroup, file string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	k := Entry{Cgroup: cgroup, File: file}.key()
	if _, ok := j.entries[k]; !ok {
		return nil
	}
	delete(j.entries, k)
	return j.save()
}

// Entries returns the recorded knobs, sorted.
func (j *Journal) Entries() []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.sorted()
}

func (j *Journal) sorted() []Entry {
	out := make([]Entry, 0, len(j.entries))
	for _, e := range j.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].key() < out[b].key() })
	return out
}

// save writes the state file atomically and durably: renameio writes a
// temporary file beside it, syncs it and renames it into place; then the
// directory is synced, so that the rename itself is on disk.
func (j *Journal) save() error {
	b, err := json.MarshalIndent(file{Format: format, PID: j.pid, Entries: j.sorted()}, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(j.path)
	if err := renameio.WriteFile(j.path, append(b, '\n'), 0o644, renameio.WithTempDir(dir)); err != nil {
		return fmt.Errorf("write state %s: %w", j.path, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("sync state directory %s: %w", dir, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
