package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// journalFormat names the state file's format.
const journalFormat = "memqos-state/1"

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

type journalFile struct {
	Format  string  `json:"format"`
	PID     int     `json:"pid"`
	Entries []Entry `json:"entries"`
}

// OpenJournal reads the state file at path, if there is one; the entries
// it holds are knobs a previous daemon left changed. It creates the file's
// directory.
func OpenJournal(path string) (*Journal, error) {
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
	var f journalFile
	if err := json.Unmarshal(b, &f); err != nil || f.Format != journalFormat {
		return nil, fmt.Errorf("state file %s is not a %s file (move it away to start afresh; it may hold knob values to restore by hand): %v", path, journalFormat, err)
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

// save writes the state file atomically and durably: a temporary file,
// fsync, rename, fsync of the directory.
func (j *Journal) save() error {
	b, err := json.MarshalIndent(journalFile{Format: journalFormat, PID: j.pid, Entries: j.sorted()}, "", "  ")
	if err != nil {
		return err
	}
	tmp := j.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	err = errors.Join(err, f.Sync(), f.Close())
	if err == nil {
		err = os.Rename(tmp, j.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write state %s: %w", j.path, err)
	}
	return syncDir(filepath.Dir(j.path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
