package daemon

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/journal"
	"github.com/memqos/memqos/internal/policy"
	"github.com/memqos/memqos/internal/testutil"
)

// fakeBackend records what the daemon asks of a backend, and reports
// triggers the test sets.
type fakeBackend struct {
	mu      sync.Mutex
	added   []string
	removed []string
	last    map[string]time.Time
	trig    chan trigger
	closed  bool
}

func newFake() *fakeBackend {
	return &fakeBackend{last: map[string]time.Time{}, trig: make(chan trigger, 8)}
}

func (f *fakeBackend) name() string      { return "fake" }
func (f *fakeBackend) mode() policy.Mode { return policy.CgroupFS }
func (f *fakeBackend) add(m *member) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.added = append(f.added, m.path)
	return nil
}
func (f *fakeBackend) remove(m *member) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, m.path)
	return nil
}
func (f *fakeBackend) lift(*member, bool) error          { return nil }
func (f *fakeBackend) program(policy.Plan) error         { return nil }
func (f *fakeBackend) triggers() <-chan trigger          { return f.trig }
func (f *fakeBackend) counters(string) map[string]uint64 { return nil }
func (f *fakeBackend) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}
func (f *fakeBackend) lastTrigger(c string) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last[c]
}
func (f *fakeBackend) fire(c string) {
	f.mu.Lock()
	f.last[c] = time.Now()
	f.mu.Unlock()
	f.trig <- trigger{class: c, at: time.Now()}
}

// use returns an Options.Backend that opens be.
func use(be backend) func(*config.Config) (backend, error) {
	return func(*config.Config) (backend, error) { return be, nil }
}

// fakeTree makes a cgroup-like tree in a temporary directory: a root
// with a 1000 MiB limit and the files the daemon reads.
func fakeTree(t *testing.T) *cgroup.FS {
	t.Helper()
	fsys := &cgroup.FS{Root: t.TempDir()}
	files := map[string]string{
		"cgroup.controllers": "cpu io memory", "cgroup.subtree_control": "cpu io memory",
		"memqos/cgroup.controllers": "cpu io memory", "memqos/cgroup.subtree_control": "cpu io memory",
		"memqos/memory.current": "0", "memqos/memory.max": "1048576000", "memqos/memory.high": "max",
	}
	for _, c := range []string{"high", "low"} {
		files["memqos/"+c+"/cgroup.controllers"] = "cpu io memory"
		files["memqos/"+c+"/cgroup.subtree_control"] = "cpu io memory"
		files["memqos/"+c+"/cpu.weight"] = "100"
	}
	for rel, content := range files {
		writeFile(t, filepath.Join(fsys.Root, rel), content)
	}
	return fsys
}

// writeFile changes a file of the fake tree atomically, as the kernel
// changes a cgroup file: the running daemon never reads it empty.
func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := testutil.WriteCgroupFile(p, content); err != nil {
		t.Fatal(err)
	}
}

// addMember makes a member cgroup with usage bytes below the root
// "memqos". Its files are written in a staging directory that is then
// renamed into place, since a real cgroup has its files from the moment
// it exists.
func addMember(t *testing.T, fsys *cgroup.FS, rel string, usage uint64) {
	t.Helper()
	addMemberAt(t, fsys, "memqos", rel, usage)
}

// addMemberAt is addMember below the root named root.
func addMemberAt(t *testing.T, fsys *cgroup.FS, root, rel string, usage uint64) {
	t.Helper()
	stage := filepath.Join(fsys.Root, ".stage")
	defer func() {
		dst := filepath.Join(fsys.Root, root, rel)
		os.MkdirAll(filepath.Dir(dst), 0o755)
		if err := os.Rename(stage, dst); err != nil {
			t.Fatal(err)
		}
	}()
	for name, v := range map[string]string{
		"memory.current": itoa(usage), "memory.high": "max", "memory.low": "0",
		"cpu.weight": "100", "memory.pressure": "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0",
		"cgroup.events": "populated 1\nfrozen 0", "cgroup.freeze": "0",
	} {
		writeFile(t, filepath.Join(stage, name), v)
	}
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }

func read(t *testing.T, fsys *cgroup.FS, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fsys.Root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

const testConfig = `
root: memqos
detector: {hold: 500ms, headroom: 100MiB}
classes:
  - {name: high, priority: high, protect: low}
  - {name: low, priority: low, floor: 64MiB, step: 512MiB, cpu_weight: 50}
`

func newTestDaemon(t *testing.T, fsys *cgroup.FS, be backend, dry bool) (*Daemon, *syncBuffer) {
	t.Helper()
	cfg, err := config.Parse([]byte(testConfig + "state: " + filepath.Join(t.TempDir(), "state.json") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	d, err := New(Options{Config: cfg, FS: fsys, Backend: use(be), DryRun: dry, Machine: 4 << 30,
		Logger: slog.New(slog.NewJSONHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return d, &log
}

// waitFor polls cond until it holds, for at most 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitWithin(t, 20*time.Second, what, cond)
}

// waitWithin polls cond until it holds or patience runs out. It bounds
// liveness; it does not measure speed.
func waitWithin(t *testing.T, patience time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(patience); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// contendedTree is fakeTree with a HIGH member using 500 MiB and a LOW
// member using 450 MiB: 50 MiB free under the root's 1000 MiB.
func contendedTree(t *testing.T) *cgroup.FS {
	fsys := fakeTree(t)
	addMember(t, fsys, "high/a", 500<<20)
	addMember(t, fsys, "low/b", 450<<20)
	writeFile(t, filepath.Join(fsys.Root, "memqos/memory.current"), itoa(950<<20))
	return fsys
}

// start runs d until the returned function stops it and returns Run's
// error.
func start(d *Daemon) func() error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	return func() error { cancel(); return <-done }
}

func TestDaemonGovernsAndRestores(t *testing.T) {
	fsys := contendedTree(t)
	be := newFake()
	d, _ := newTestDaemon(t, fsys, be, false)
	stop := start(d)

	waitFor(t, "the LOW member's static cpu.weight", func() bool { return read(t, fsys, "memqos/low/b/cpu.weight") == "50" })
	be.fire("high")
	waitFor(t, "LOW's memory.high capped at its usage", func() bool { return read(t, fsys, "memqos/low/b/memory.high") == itoa(450<<20) })
	waitFor(t, "HIGH's memory.low to cover its usage", func() bool { return read(t, fsys, "memqos/high/a/memory.low") == itoa(500<<20) })
	// The default policy gives the HIGH class group, and its members, the
	// largest CPU weight; the LOW class has the weight it was given.
	for rel, want := range map[string]string{"memqos/high/cpu.weight": "10000", "memqos/high/a/cpu.weight": "10000", "memqos/low/cpu.weight": "50"} {
		if got := read(t, fsys, rel); got != want {
			t.Errorf("while governed %s = %q; want %q", rel, got, want)
		}
	}
	// The status is set after a tick's writes, so the file can show a
	// write whose tick has not yet reported.
	waitFor(t, "the status to show memory contended and the 6 knobs changed", func() bool {
		st := d.Status()
		return st.Contended && len(st.Knobs) == 6
	})
	// A member created later is picked up.
	addMember(t, fsys, "low/c", 10<<20)
	waitFor(t, "the new member's cpu.weight", func() bool { return read(t, fsys, "memqos/low/c/cpu.weight") == "50" })

	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]string{
		"memqos/low/b/memory.high": "max", "memqos/low/b/cpu.weight": "100", "memqos/low/c/cpu.weight": "100",
		"memqos/high/a/memory.low": "0", "memqos/high/cpu.weight": "100", "memqos/high/a/cpu.weight": "100", "memqos/low/cpu.weight": "100",
	} {
		if got := read(t, fsys, rel); got != want {
			t.Errorf("after stop %s = %q; want %q", rel, got, want)
		}
	}
	if n := len(d.knobs.journal.Entries()); n != 0 {
		t.Errorf("journal still holds %d entries", n)
	}
	if !be.closed {
		t.Error("backend not closed")
	}
}

// TestCrashRestore checks that knobs a killed daemon left changed, as its
// state file records them, are restored by the next daemon's start.
func TestCrashRestore(t *testing.T) {
	fsys := fakeTree(t)
	addMember(t, fsys, "low/b", 100<<20)
	state := filepath.Join(t.TempDir(), "state.json")
	j, err := journal.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	j.Record(journal.Entry{Cgroup: "/memqos/low/b", File: "memory.high", Original: "max"})
	j.Record(journal.Entry{Cgroup: "/memqos/low/gone", File: "memory.high", Original: "max"})
	writeFile(t, filepath.Join(fsys.Root, "memqos/low/b/memory.high"), "67108864") // as the dead daemon left it
	cfg, _ := config.Parse([]byte(testConfig + "state: " + state + "\n"))
	if _, err := New(Options{Config: cfg, FS: fsys, Backend: use(newFake()), Logger: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, fsys, "memqos/low/b/memory.high"); got != "max" {
		t.Errorf("memory.high %q after restart; want max", got)
	}
	j2, _ := journal.Open(state)
	if n := len(j2.Entries()); n != 0 {
		t.Errorf("state file still holds %d entries: %+v", n, j2.Entries())
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	fsys := contendedTree(t)
	be := newFake()
	d, log := newTestDaemon(t, fsys, be, true)
	stop := start(d)
	be.fire("high")
	waitFor(t, "a logged memory.high decision", func() bool {
		return strings.Contains(log.String(), `"file":"memory.high"`)
	})
	stop()
	if got := read(t, fsys, "memqos/low/b/memory.high") + read(t, fsys, "memqos/low/b/cpu.weight"); got != "max100" {
		t.Errorf("dry run changed knobs: %q", got)
	}
	if !strings.Contains(log.String(), `"dry_run":true`) {
		t.Errorf("decisions not marked dry run:\n%s", log.String())
	}
}

func TestClassify(t *testing.T) {
	cfg, _ := config.Parse([]byte(`
classes:
  - {name: high, priority: high}
  - {name: low, priority: low, members: ["low/*", "ci-*"]}
`))
	for rel, want := range map[string]string{
		"high/s1": "high", "low/s2": "low", "ci-7": "low", "high": "", "high/s1/nested": "", "other/x": "",
	} {
		got := ""
		if c := classify(cfg, rel); c != nil {
			got = c.Name
		}
		if got != want {
			t.Errorf("%s: class %q; want %q", rel, got, want)
		}
	}
}

// TestMemberRetried: a member that cannot be governed when it appears
// (here its cpu.weight file is missing at first) is tried again at the
// next tick, without a new event from the tree.
func TestMemberRetried(t *testing.T) {
	fsys := contendedTree(t)
	d, _ := newTestDaemon(t, fsys, newFake(), false)
	stop := start(d)
	defer stop()
	dir := filepath.Join(fsys.Root, "memqos/low/late")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a failed attempt", func() bool { return d.retryPending() })
	writeFile(t, filepath.Join(dir, "memory.current"), "0")
	writeFile(t, filepath.Join(dir, "memory.high"), "max")
	writeFile(t, filepath.Join(dir, "cpu.weight"), "100")
	waitFor(t, "the member governed", func() bool { return read(t, fsys, "memqos/low/late/cpu.weight") == "50" })
}

// TestKnobAlreadySet: a knob that already holds the value is neither
// written nor journaled, so stopping never "restores" it away (memqos run
// --class writes its group's memory.max itself, and a daemon that records
// it after that must not undo it).
func TestKnobAlreadySet(t *testing.T) {
	fsys := fakeTree(t)
	addMember(t, fsys, "low/b", 1)
	writeFile(t, filepath.Join(fsys.Root, "memqos/low/b/memory.max"), "67108864")
	j, err := journal.Open(filepath.Join(t.TempDir(), "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	k := &knobs{fs: fsys, journal: j, log: slog.New(slog.DiscardHandler)}
	if err := k.set("/memqos/low/b", "memory.max", "67108864", "test"); err != nil {
		t.Fatal(err)
	}
	if e := j.Entries(); len(e) != 0 {
		t.Fatalf("journaled a knob memqos did not change: %+v", e)
	}
	if err := k.set("/memqos/low/b", "memory.max", "33554432", "test"); err != nil {
		t.Fatal(err)
	}
	if e := j.Entries(); len(e) != 1 || e[0].Original != "67108864" {
		t.Fatalf("journal %+v; want the original 67108864", e)
	}
}

// TestReloadNewRoot: a reload that moves the root releases the old
// members (restoring their knobs) and watches the new root.
func TestReloadNewRoot(t *testing.T) {
	fsys := contendedTree(t)
	for _, dir := range []string{"", "/high", "/low"} {
		for _, f := range []string{"cgroup.controllers", "cgroup.subtree_control", "memory.current", "memory.max", "memory.high"} {
			if b, err := os.ReadFile(filepath.Join(fsys.Root, "memqos"+dir, f)); err == nil {
				writeFile(t, filepath.Join(fsys.Root, "other"+dir, f), string(b))
			}
		}
	}
	d, _ := newTestDaemon(t, fsys, newFake(), false)
	stop := start(d)
	defer stop()
	waitFor(t, "LOW governed", func() bool { return read(t, fsys, "memqos/low/b/cpu.weight") == "50" })
	cfg, err := config.Parse([]byte(strings.Replace(testConfig, "root: memqos", "root: other", 1) + "state: " + d.cfg.State + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	d.Reload(cfg)
	waitFor(t, "the old member released", func() bool { return read(t, fsys, "memqos/low/b/cpu.weight") == "100" })
	addMemberAt(t, fsys, "other", "low/n", 1<<20)
	waitFor(t, "a member of the new root governed", func() bool { return read(t, fsys, "other/low/n/cpu.weight") == "50" })
}

// TestReloadFailureKeepsOld: a configuration that parses but cannot be set
// up (here its root cannot get the memory controller) leaves the previous
// one in force.
func TestReloadFailureKeepsOld(t *testing.T) {
	fsys := contendedTree(t)
	d, log := newTestDaemon(t, fsys, newFake(), false)
	stop := start(d)
	defer stop()
	waitFor(t, "LOW governed", func() bool { return read(t, fsys, "memqos/low/b/cpu.weight") == "50" })
	cfg, err := config.Parse([]byte(strings.Replace(testConfig, "root: memqos", "root: nowhere", 1) + "state: " + d.cfg.State + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	d.Reload(cfg)
	waitFor(t, "the failed reload logged", func() bool { return strings.Contains(log.String(), "reload failed") })
	waitFor(t, "LOW governed again", func() bool { return read(t, fsys, "memqos/low/b/cpu.weight") == "50" })
}

// TestDryRunMissingRoot: a dry run cannot create the root, and says so.
func TestDryRunMissingRoot(t *testing.T) {
	fsys := &cgroup.FS{Root: t.TempDir()}
	cfg, err := config.Parse([]byte(testConfig + "state: " + filepath.Join(t.TempDir(), "state.json") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(Options{Config: cfg, FS: fsys, Backend: use(newFake()), DryRun: true, Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "dry run: the root "+filepath.Join(fsys.Root, "memqos")+" does not exist") {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(filepath.Join(fsys.Root, "memqos")); err == nil {
		t.Error("a dry run created the root")
	}
}

// TestReservationKept gives the HIGH member a memory.low of its own (as
// podman's --memory-reservation does): memqos leaves it while it covers
// the member's usage, raises it when usage passes it (judging by the
// journal's original, not by its own write), and restores it on stop.
func TestReservationKept(t *testing.T) {
	fsys := contendedTree(t)
	writeFile(t, filepath.Join(fsys.Root, "memqos/high/a/memory.low"), itoa(600<<20))
	be := newFake()
	d, _ := newTestDaemon(t, fsys, be, false)
	stop := start(d)
	waitFor(t, "the LOW member's static cpu.weight", func() bool { return read(t, fsys, "memqos/low/b/cpu.weight") == "50" })
	be.fire("high")
	waitFor(t, "HIGH under pressure", func() bool { return classStatus(d, "high").Pressure })
	if got := read(t, fsys, "memqos/high/a/memory.low"); got != itoa(600<<20) {
		t.Errorf("memory.low %s under pressure; want the member's own 600 MiB", got)
	}
	writeFile(t, filepath.Join(fsys.Root, "memqos/high/a/memory.current"), itoa(700<<20))
	be.fire("high")
	waitFor(t, "protection raised past the reservation", func() bool { return read(t, fsys, "memqos/high/a/memory.low") == itoa(700<<20) })
	writeFile(t, filepath.Join(fsys.Root, "memqos/high/a/memory.current"), itoa(650<<20))
	be.fire("high")
	time.Sleep(300 * time.Millisecond) // a few ticks: protection must not follow usage down
	if got := read(t, fsys, "memqos/high/a/memory.low"); got != itoa(700<<20) {
		t.Errorf("memory.low %s after usage fell to 650 MiB; want it kept at 700 MiB", got)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := read(t, fsys, "memqos/high/a/memory.low"); got != itoa(600<<20) {
		t.Errorf("memory.low %s after stop; want the original 600 MiB", got)
	}
}

// TestOutsideChangeReasserted has a container runtime write a member's
// memory.max after memqos governed it (as crun applies podman's --memory
// after the group exists): the class's memory_max is written again, and
// the runtime's value is the one restored when the daemon stops.
func TestOutsideChangeReasserted(t *testing.T) {
	fsys := contendedTree(t)
	cfg, err := config.Parse([]byte(strings.Replace(testConfig, "cpu_weight: 50}", "cpu_weight: 50, memory_max: 300MiB}", 1) +
		"state: " + filepath.Join(t.TempDir(), "state.json") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(fsys.Root, "memqos/low/b/memory.max"), "max")
	d, err := New(Options{Config: cfg, FS: fsys, Backend: use(newFake()), Machine: 4 << 30, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	stop := start(d)
	waitFor(t, "the class's memory_max", func() bool { return read(t, fsys, "memqos/low/b/memory.max") == itoa(300<<20) })
	writeFile(t, filepath.Join(fsys.Root, "memqos/low/b/memory.max"), itoa(500<<20))
	waitFor(t, "the class's memory_max written again", func() bool { return read(t, fsys, "memqos/low/b/memory.max") == itoa(300<<20) })
	if e, ok := d.knobs.journal.Lookup("/memqos/low/b", "memory.max"); !ok || e.Original != itoa(500<<20) {
		t.Errorf("journal entry %+v, %v; want the outside value %d as the original", e, ok, 500<<20)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := read(t, fsys, "memqos/low/b/memory.max"); got != itoa(500<<20) {
		t.Errorf("memory.max %s after stop; want the outside value %d", got, 500<<20)
	}
}

func TestSameKnob(t *testing.T) {
	page := os.Getpagesize()
	for _, tc := range []struct {
		file, cur, want string
		same            bool
	}{
		{"memory.max", "314572800", "314572800", true},
		{"memory.max", strconv.Itoa(page), strconv.Itoa(page + 100), true}, // rounded down to a page
		{"memory.max", "max", "314572800", false},
		{"memory.max", "524288000", "314572800", false},
		{"cpu.weight", "50", "50", true},
		{"cpu.weight", "100", "50", false},
		{"io.weight", "default 50", "default 50", true},
	} {
		if got := sameKnob(tc.file, tc.cur, tc.want); got != tc.same {
			t.Errorf("sameKnob(%s, %q, %q) = %v; want %v", tc.file, tc.cur, tc.want, got, tc.same)
		}
	}
}

// TestEmptyReadNeverJournaled reads a knob empty, as a fixture written
// with a truncate and then a write can be read between the two: memqos
// must neither journal "" as a member's original (it could not write it
// back) nor take "" as a value set from outside.
func TestEmptyReadNeverJournaled(t *testing.T) {
	fsys := contendedTree(t)
	addMember(t, fsys, "low/c", 10<<20)
	writeFile(t, filepath.Join(fsys.Root, "memqos/low/b/memory.max"), "max")
	writeFile(t, filepath.Join(fsys.Root, "memqos/low/c/memory.max"), "")
	cfg, err := config.Parse([]byte(strings.Replace(testConfig, "cpu_weight: 50}", "cpu_weight: 50, memory_max: 300MiB}", 1) +
		"state: " + filepath.Join(t.TempDir(), "state.json") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	d, err := New(Options{Config: cfg, FS: fsys, Backend: use(newFake()), Machine: 4 << 30, Logger: slog.New(slog.NewJSONHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.rescan(); err != nil {
		t.Fatal(err)
	}
	// A member whose original reads empty is not governed, and says why.
	if e, ok := d.knobs.journal.Lookup("/memqos/low/c", "memory.max"); ok {
		t.Errorf("journal entry %+v for a knob read empty", e)
	}
	if got := read(t, fsys, "memqos/low/c/memory.max"); got != "" {
		t.Errorf("memory.max %q written over a knob whose original could not be read", got)
	}
	if want := filepath.Join(fsys.Root, "memqos/low/c/memory.max") + ": not a value to restore"; !strings.Contains(log.String(), want) {
		t.Errorf("log does not say %q:\n%s", want, log.String())
	}
	if !d.retryPending() {
		t.Error("the member whose knob read empty is not retried")
	}
	// A governed member's knob read empty by the reassert check is not an
	// outside value: the journal keeps the original.
	if got := read(t, fsys, "memqos/low/b/memory.max"); got != itoa(300<<20) {
		t.Fatalf("memory.max %s; want the class's %d", got, 300<<20)
	}
	writeFile(t, filepath.Join(fsys.Root, "memqos/low/b/memory.max"), "")
	d.reassert()
	if e, ok := d.knobs.journal.Lookup("/memqos/low/b", "memory.max"); !ok || e.Original != "max" {
		t.Errorf("journal entry %+v, %v after an empty read; want the original max", e, ok)
	}
	writeFile(t, filepath.Join(fsys.Root, "memqos/low/b/memory.max"), itoa(500<<20))
	d.reassert()
	if e, ok := d.knobs.journal.Lookup("/memqos/low/b", "memory.max"); !ok || e.Original != itoa(500<<20) {
		t.Errorf("journal entry %+v, %v; want the outside value %d", e, ok, 500<<20)
	}
	if err := d.shutdown("test"); err != nil {
		t.Fatal(err)
	}
	if got := read(t, fsys, "memqos/low/b/memory.max"); got != itoa(500<<20) {
		t.Errorf("memory.max %s after stop; want the outside value %d", got, 500<<20)
	}
}
