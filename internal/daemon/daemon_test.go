package daemon

import (
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/actuate"
	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/govern"
	"github.com/memqos/memqos/internal/journal"
	"github.com/memqos/memqos/internal/policy"
	"github.com/memqos/memqos/internal/testutil"
)

// fakeDetector records what the daemon asks of a detector, and reports
// triggers the test fires, at the test's clock.
type fakeDetector struct {
	mu       sync.Mutex
	counters map[string]uint64
	added    []string
	removed  []string
	last     map[string]time.Time
	trig     chan govern.Trigger
	closed   bool
	now      func() time.Time
}

func newFakeDetector(now func() time.Time) *fakeDetector {
	return &fakeDetector{last: map[string]time.Time{}, trig: make(chan govern.Trigger, 64), now: now}
}

func (f *fakeDetector) Name() string { return "fake" }
func (f *fakeDetector) Add(m *govern.Member) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.added = append(f.added, m.Path)
	return nil
}
func (f *fakeDetector) Remove(m *govern.Member) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, m.Path)
	return nil
}
func (f *fakeDetector) Gate(bool, map[string]bool) error  { return nil }
func (f *fakeDetector) Triggers() <-chan govern.Trigger   { return f.trig }
func (f *fakeDetector) Counters(string) map[string]uint64 { return f.counters }
func (f *fakeDetector) Close() error                      { f.closed = true; return nil }
func (f *fakeDetector) LastTrigger(c string) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last[c]
}

// fire reports pressure in class c now.
func (f *fakeDetector) fire(c string) {
	f.mu.Lock()
	f.last[c] = f.now()
	f.mu.Unlock()
	f.trig <- govern.Trigger{Class: c, At: f.now()}
}

// clock is the tests' clock: it moves only when a test moves it.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// harness drives a daemon step by step on a fake cgroup tree, with a
// fake detector, the knob actuator and a test clock: no test waits for
// the loop.
type harness struct {
	t      *testing.T
	d      *Daemon
	fsys   *cgroup.FS
	det    *fakeDetector
	clock  *clock
	events chan cgroup.TreeEvent
	log    *syncBuffer
}

// newHarness makes a daemon of the configuration doc (without state,
// which it adds) over fsys, and starts it: the members there are are
// governed.
func newHarness(t *testing.T, fsys *cgroup.FS, doc string, dry bool) *harness {
	t.Helper()
	h := newHarnessWith(t, fsys, doc, dry)
	if err := h.d.start(); err != nil {
		t.Fatal(err)
	}
	return h
}

// newHarnessWith makes the daemon of newHarness, with more actuators
// before the knob actuator, without starting it.
func newHarnessWith(t *testing.T, fsys *cgroup.FS, doc string, dry bool, extra ...govern.Actuator) *harness {
	t.Helper()
	return newHarnessAt(t, fsys, doc, filepath.Join(t.TempDir(), "state.json"), dry, extra...)
}

// newHarnessAt is newHarnessWith with a state file.
func newHarnessAt(t *testing.T, fsys *cgroup.FS, doc, state string, dry bool, extra ...govern.Actuator) *harness {
	t.Helper()
	cfg, err := config.Parse([]byte(doc + "state: " + state + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, fsys: fsys, clock: &clock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		events: make(chan cgroup.TreeEvent, 64), log: &syncBuffer{}}
	h.det = newFakeDetector(h.clock.now)
	h.d, err = New(Options{Config: cfg, FS: fsys, DryRun: dry, Machine: 4 << 30, Now: h.clock.now, TreeEvents: h.events,
		Plugins: func(_ *config.Config, k govern.Knobs) (govern.Detector, []govern.Actuator, policy.Means, error) {
			return h.det, append(extra, actuate.NewKnobs(k)), policy.Means{}, nil
		},
		Logger: slog.New(slog.NewJSONHandler(h.log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(h.log.String())
		}
	})
	return h
}

// step moves the clock by one active tick and runs one turn of the loop.
func (h *harness) step() policy.Plan {
	h.clock.t = h.clock.t.Add(activeTick)
	return h.d.step()
}

// steps runs n turns.
func (h *harness) steps(n int) {
	for range n {
		h.step()
	}
}

// add makes a member below the root and reports it, as the tree watcher
// would.
func (h *harness) add(rel string, usage uint64) {
	h.t.Helper()
	addMember(h.t, h.fsys, rel, usage)
	h.events <- cgroup.TreeEvent{Path: h.d.root.Child(rel).Name(), Kind: cgroup.Created}
}

// stop stops the daemon as Run does when it ends.
func (h *harness) stop() error { return h.d.stop("daemon stopping") }

// want fails the test unless the file rel of the fake tree reads want.
func (h *harness) want(rel, want, when string) {
	h.t.Helper()
	if got := read(h.t, h.fsys, rel); got != want {
		h.t.Fatalf("%s: %s = %q; want %q", when, rel, got, want)
	}
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

// contendedTree is fakeTree with a HIGH member using 500 MiB and a LOW
// member using 450 MiB: 50 MiB free under the root's 1000 MiB.
func contendedTree(t *testing.T) *cgroup.FS {
	fsys := fakeTree(t)
	addMember(t, fsys, "high/a", 500<<20)
	addMember(t, fsys, "low/b", 450<<20)
	writeFile(t, filepath.Join(fsys.Root, "memqos/memory.current"), itoa(950<<20))
	return fsys
}

func TestDaemonGovernsAndRestores(t *testing.T) {
	h := newHarness(t, contendedTree(t), testConfig, false)
	h.want("memqos/low/b/cpu.weight", "50", "the LOW member's static cpu.weight")
	h.det.fire("high")
	h.step()
	h.want("memqos/low/b/memory.high", itoa(450<<20), "LOW's memory.high capped at its usage")
	h.want("memqos/high/a/memory.low", itoa(500<<20), "HIGH's memory.low to cover its usage")
	// The default policy gives the HIGH class group, and its members, the
	// largest CPU weight; the LOW class has the weight it was given.
	for rel, want := range map[string]string{"memqos/high/cpu.weight": "10000", "memqos/high/a/cpu.weight": "10000", "memqos/low/cpu.weight": "50"} {
		h.want(rel, want, "while governed")
	}
	if st := h.d.Status(); !st.Contended || len(st.Knobs) != 6 || st.Backend != "cgroupfs (fake)" || !slices.Equal(st.Actuators, []string{"cgroupfs"}) {
		t.Errorf("status: contended %v, %d knobs, backend %q, actuators %v; want contended, 6, cgroupfs (fake), [cgroupfs]", st.Contended, len(st.Knobs), st.Backend, st.Actuators)
	}
	// A member created later is picked up.
	h.add("low/c", 10<<20)
	h.step()
	h.want("memqos/low/c/cpu.weight", "50", "the new member")

	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]string{
		"memqos/low/b/memory.high": "max", "memqos/low/b/cpu.weight": "100", "memqos/low/c/cpu.weight": "100",
		"memqos/high/a/memory.low": "0", "memqos/high/cpu.weight": "100", "memqos/high/a/cpu.weight": "100", "memqos/low/cpu.weight": "100",
	} {
		h.want(rel, want, "after stop")
	}
	if n := len(h.d.knobs.Entries()); n != 0 {
		t.Errorf("journal still holds %d entries", n)
	}
	if !h.det.closed {
		t.Error("detector not closed")
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
	newHarnessAt(t, fsys, testConfig, state, false)
	if got := read(t, fsys, "memqos/low/b/memory.high"); got != "max" {
		t.Errorf("memory.high %q after restart; want max", got)
	}
	j2, _ := journal.Open(state)
	if n := len(j2.Entries()); n != 0 {
		t.Errorf("state file still holds %d entries: %+v", n, j2.Entries())
	}
}

// TestDryRunChangesNothing runs the whole loop in a dry run, through a
// pressure episode and its end, and compares every file of the tree
// before and after: nothing was written, and every decision is logged.
func TestDryRunChangesNothing(t *testing.T) {
	fsys := contendedTree(t)
	before := snapshotTree(t, fsys.Root)
	h := newHarness(t, fsys, testConfig, true)
	h.det.fire("high")
	h.step()
	h.add("low/c", 10<<20)
	h.steps(3)
	h.clock.t = h.clock.t.Add(time.Minute) // pressure over
	h.step()
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if after := snapshotTree(t, fsys.Root); !maps.Equal(before, after) {
		for p, v := range after {
			if before[p] != v {
				t.Errorf("dry run changed %s: %q -> %q", p, before[p], v)
			}
		}
	}
	for _, want := range []string{
		`"action":"write","cgroup":"/memqos/low/b","file":"memory.high","value":"471859200"`, // capped at usage
		`"action":"write","cgroup":"/memqos/high/a","file":"memory.low","value":"524288000"`,
		`"action":"write","cgroup":"/memqos/low/c","file":"cpu.weight","value":"50"`,
		`"action":"restore","cgroup":"/memqos/low/b","file":"memory.high","value":"max"`,
	} {
		if !strings.Contains(h.log.String(), want) {
			t.Errorf("dry run did not log %s", want)
		}
	}
	if strings.Contains(h.log.String(), `"dry_run":false`) {
		t.Error("a decision of the dry run is marked as carried out")
	}
}

// snapshotTree returns every file below root with its content, except
// added members' (they are the test's).
func snapshotTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || strings.Contains(p, "/low/c/") {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
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
	h := newHarness(t, contendedTree(t), testConfig, false)
	dir := filepath.Join(h.fsys.Root, "memqos/low/late")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h.events <- cgroup.TreeEvent{Path: "/memqos/low/late", Kind: cgroup.Created}
	h.step()
	if !h.d.retryPending() {
		t.Fatal("a member without cpu.weight was governed, or not tried again")
	}
	writeFile(t, filepath.Join(dir, "memory.current"), "0")
	writeFile(t, filepath.Join(dir, "memory.high"), "max")
	writeFile(t, filepath.Join(dir, "cpu.weight"), "100")
	h.step()
	h.want("memqos/low/late/cpu.weight", "50", "the member retried")
	if h.d.retryPending() {
		t.Error("still retrying once governed")
	}
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
	k := &journaled{fs: fsys, journal: j, log: slog.New(slog.DiscardHandler)}
	if err := k.Set("/memqos/low/b", "memory.max", "67108864", "test"); err != nil {
		t.Fatal(err)
	}
	if e := j.Entries(); len(e) != 0 {
		t.Fatalf("journaled a knob memqos did not change: %+v", e)
	}
	if err := k.Set("/memqos/low/b", "memory.max", "33554432", "test"); err != nil {
		t.Fatal(err)
	}
	if e := j.Entries(); len(e) != 1 || e[0].Original != "67108864" {
		t.Fatalf("journal %+v; want the original 67108864", e)
	}
}

// TestReloadNewRoot: a reload that moves the root releases the old
// members (restoring their knobs) and follows the new root.
func TestReloadNewRoot(t *testing.T) {
	fsys := contendedTree(t)
	for _, dir := range []string{"", "/high", "/low"} {
		for _, f := range []string{"cgroup.controllers", "cgroup.subtree_control", "memory.current", "memory.max", "memory.high"} {
			if b, err := os.ReadFile(filepath.Join(fsys.Root, "memqos"+dir, f)); err == nil {
				writeFile(t, filepath.Join(fsys.Root, "other"+dir, f), string(b))
			}
		}
	}
	h := newHarness(t, fsys, testConfig, false)
	defer h.stop()
	h.want("memqos/low/b/cpu.weight", "50", "LOW governed")
	cfg, err := config.Parse([]byte(strings.Replace(testConfig, "root: memqos", "root: other", 1) + "state: " + h.d.cfg.State + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.d.applyReload(cfg); err != nil {
		t.Fatal(err)
	}
	h.want("memqos/low/b/cpu.weight", "100", "the old member released")
	addMemberAt(t, fsys, "other", "low/n", 1<<20)
	h.events <- cgroup.TreeEvent{Path: "/other/low/n", Kind: cgroup.Created}
	h.step()
	h.want("other/low/n/cpu.weight", "50", "a member of the new root")
}

// TestReloadFailureKeepsOld: a configuration that parses but cannot be set
// up (here its root cannot get the memory controller) leaves the previous
// one in force.
func TestReloadFailureKeepsOld(t *testing.T) {
	h := newHarness(t, contendedTree(t), testConfig, false)
	defer h.stop()
	h.want("memqos/low/b/cpu.weight", "50", "LOW governed")
	cfg, err := config.Parse([]byte(strings.Replace(testConfig, "root: memqos", "root: nowhere", 1) + "state: " + h.d.cfg.State + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.d.applyReload(cfg); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.log.String(), "reload failed") {
		t.Error("the failed reload was not logged")
	}
	h.step()
	h.want("memqos/low/b/cpu.weight", "50", "LOW governed again")
}

// TestDryRunMissingRoot: a dry run cannot create the root, and says so.
func TestDryRunMissingRoot(t *testing.T) {
	fsys := &cgroup.FS{Root: t.TempDir()}
	cfg, err := config.Parse([]byte(testConfig + "state: " + filepath.Join(t.TempDir(), "state.json") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(Options{Config: cfg, FS: fsys, DryRun: true, Logger: slog.New(slog.DiscardHandler)})
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
	h := newHarness(t, fsys, testConfig, false)
	h.det.fire("high")
	h.step()
	if !classStatus(h.d, "high").Pressure {
		t.Fatal("HIGH not under pressure after a trigger")
	}
	h.want("memqos/high/a/memory.low", itoa(600<<20), "under pressure, the member's own 600 MiB")
	writeFile(t, filepath.Join(fsys.Root, "memqos/high/a/memory.current"), itoa(700<<20))
	h.det.fire("high")
	h.step()
	h.want("memqos/high/a/memory.low", itoa(700<<20), "protection raised past the reservation")
	writeFile(t, filepath.Join(fsys.Root, "memqos/high/a/memory.current"), itoa(650<<20))
	h.det.fire("high")
	h.steps(3) // protection must not follow usage down
	h.want("memqos/high/a/memory.low", itoa(700<<20), "usage fell to 650 MiB")
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	h.want("memqos/high/a/memory.low", itoa(600<<20), "after stop, the original")
}

// TestOutsideChangeReasserted has a container runtime write a member's
// memory.max after memqos governed it (as crun applies podman's --memory
// after the group exists): the class's memory_max is written again, and
// the runtime's value is the one restored when the daemon stops.
func TestOutsideChangeReasserted(t *testing.T) {
	fsys := contendedTree(t)
	writeFile(t, filepath.Join(fsys.Root, "memqos/low/b/memory.max"), "max")
	h := newHarness(t, fsys, strings.Replace(testConfig, "cpu_weight: 50}", "cpu_weight: 50, memory_max: 300MiB}", 1), false)
	h.want("memqos/low/b/memory.max", itoa(300<<20), "the class's memory_max")
	writeFile(t, filepath.Join(fsys.Root, "memqos/low/b/memory.max"), itoa(500<<20))
	h.step()
	h.want("memqos/low/b/memory.max", itoa(300<<20), "the class's memory_max written again")
	if orig, ok := h.d.knobs.Original("/memqos/low/b", "memory.max"); !ok || orig != itoa(500<<20) {
		t.Errorf("journal's original %q, %v; want the outside value %d", orig, ok, 500<<20)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	h.want("memqos/low/b/memory.max", itoa(500<<20), "after stop, the outside value")
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
	h := newHarness(t, fsys, strings.Replace(testConfig, "cpu_weight: 50}", "cpu_weight: 50, memory_max: 300MiB}", 1), false)
	// A member whose original reads empty is not governed, and says why.
	if orig, ok := h.d.knobs.Original("/memqos/low/c", "memory.max"); ok {
		t.Errorf("journal's original %q for a knob read empty", orig)
	}
	h.want("memqos/low/c/memory.max", "", "a knob whose original could not be read")
	if want := filepath.Join(fsys.Root, "memqos/low/c/memory.max") + ": not a value to restore"; !strings.Contains(h.log.String(), want) {
		t.Errorf("log does not say %q", want)
	}
	if !h.d.retryPending() {
		t.Error("the member whose knob read empty is not retried")
	}
	// A governed member's knob read empty by the reassert check is not an
	// outside value: the journal keeps the original.
	h.want("memqos/low/b/memory.max", itoa(300<<20), "the class's memory_max")
	writeFile(t, filepath.Join(fsys.Root, "memqos/low/b/memory.max"), "")
	h.step()
	if orig, ok := h.d.knobs.Original("/memqos/low/b", "memory.max"); !ok || orig != "max" {
		t.Errorf("journal's original %q, %v after an empty read; want max", orig, ok)
	}
	writeFile(t, filepath.Join(fsys.Root, "memqos/low/b/memory.max"), itoa(500<<20))
	h.step()
	if orig, ok := h.d.knobs.Original("/memqos/low/b", "memory.max"); !ok || orig != itoa(500<<20) {
		t.Errorf("journal's original %q, %v; want the outside value %d", orig, ok, 500<<20)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	h.want("memqos/low/b/memory.max", itoa(500<<20), "after stop, the outside value")
}
