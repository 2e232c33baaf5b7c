package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/actuate"
	"github.com/memqos/memqos/internal/bpf"
	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/journal"
	"github.com/memqos/memqos/internal/status"
	"github.com/memqos/memqos/internal/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"golang.org/x/sys/unix"
)

// These tests run the daemon on a real cgroup v2 hierarchy, as root (the
// guest tier). The scenario: a parent limited to 256 MiB is the root
// memqos owns; a LOW member holds 150 MiB and keeps charging a little;
// a HIGH member churns 40 MiB against its own 32 MiB memory.high, so it
// faults (over 50 a second even while throttled), stalls (PSI) and hits
// memory.high (memory.events). With 100 MiB
// of headroom, memory is contended.

func TestMain(m *testing.M) {
	testutil.Main(m, testutil.Helpers{
		// hold touches N MiB, then one more MiB every 50 ms, up to N+50.
		"hold": func(args []string) int {
			n, _ := strconv.Atoi(args[0])
			var keep [][]byte
			b, err := testutil.MapTouched(n << 20)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			keep = append(keep, b)
			for i := 0; ; i++ {
				time.Sleep(50 * time.Millisecond)
				if i < 50 {
					if b, err := testutil.MapTouched(1 << 20); err == nil {
						keep = append(keep, b)
					}
				}
			}
		},
		// churn maps, touches and unmaps N MiB forever.
		"churn": func(args []string) int {
			n, _ := strconv.Atoi(args[0])
			for {
				b, err := testutil.MapTouched(n << 20)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					return 1
				}
				unixMunmap(b)
			}
		},
	})
}

const scenarioConfig = `
root: %s
backend: %s
state: %s
detector: {source: %s, threshold: 50, stall: 10ms, window: 1s, hold: 1s, headroom: 100MiB}
classes:
  - {name: high, priority: high, protect: low}
  - name: low
    priority: low
    floor: 16MiB
    step: 64MiB
    delay: 50ms
    cpu_weight: 50
    escalation: {after: 10m, action: none}
`

// scenario is a root with a limit, and the configuration text for it.
type scenario struct {
	fsys   *cgroup.FS
	parent *cgroup.Group
	state  string
	config string
}

func newScenario(t *testing.T, backend, source string) *scenario {
	t.Helper()
	parent := testutil.ParentCgroup(t)
	if err := parent.SetLimit(cgroup.MemoryMax, 256<<20); err != nil {
		t.Fatal(err)
	}
	fsys, err := cgroup.Open("")
	if err != nil {
		t.Fatal(err)
	}
	s := &scenario{fsys: fsys, parent: parent, state: filepath.Join(t.TempDir(), "state.json")}
	s.config = fmt.Sprintf(scenarioConfig, parent.Path(), backend, s.state, source)
	return s
}

func (s *scenario) parse(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(s.config))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// start runs helper in a new member group rel of the scenario's root, and
// kills it when the test ends (the test group's removal kills the rest).
func (s *scenario) start(t *testing.T, rel, helper string, mib int, setup func(*cgroup.Group)) *cgroup.Group {
	t.Helper()
	g := s.parent.Child(rel)
	waitFor(t, "the class group "+filepath.Dir(g.Path()), func() bool { return g.Parent().Exists() })
	g, err := s.fsys.Create(g.Name())
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(g)
	}
	cmd := testutil.HelperCommand(t, helper, strconv.Itoa(mib))
	if err := g.Start(cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return g
}

// load starts the LOW and HIGH workloads.
func (s *scenario) load(t *testing.T) (high, low *cgroup.Group) {
	low = s.start(t, "low/b", "hold", 150, nil)
	waitWithin(t, time.Minute, "LOW to hold 150 MiB", func() bool { u, _ := low.MemoryCurrent(); return u >= 150<<20 })
	high = s.start(t, "high/a", "churn", 40, func(g *cgroup.Group) {
		if err := g.SetLimit(cgroup.MemoryHigh, 32<<20); err != nil {
			t.Fatal(err)
		}
	})
	return high, low
}

func runDaemon(t *testing.T, cfg *config.Config, fsys *cgroup.FS) (*Daemon, func()) {
	t.Helper()
	d, err := New(Options{Config: cfg, FS: fsys, Logger: slog.New(slog.NewTextHandler(testutil.LogWriter(t), nil))})
	if err != nil {
		t.Fatal(err)
	}
	stop := start(d)
	return d, func() {
		if err := stop(); err != nil {
			t.Errorf("daemon stopped with: %v", err)
		}
	}
}

func knob(t *testing.T, g *cgroup.Group, file string) string {
	t.Helper()
	s, err := g.ReadString(file)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRealDaemonActs runs the scenario with each backend and detector
// source the kernel has, and checks that the backend acts (a trigger, LOW
// slowed, HIGH protected) and that stopping restores every knob.
func TestRealDaemonActs(t *testing.T) {
	for _, tc := range []struct {
		backend, source string
		needs           []testutil.Feature
	}{
		{"cgroupfs", "pgfault", []testutil.Feature{testutil.Tracepoint, testutil.BPF}},
		{"cgroupfs", "psi", []testutil.Feature{testutil.PSI}},
		{"cgroupfs", "events", nil},
		{"structops", "pgfault", []testutil.Feature{testutil.MemcgOps}},
	} {
		t.Run(tc.backend+"_"+tc.source, func(t *testing.T) {
			testutil.Require(t, append([]testutil.Feature{testutil.Root, testutil.CgroupV2}, tc.needs...)...)
			s := newScenario(t, tc.backend, tc.source)
			d, stop := runDaemon(t, s.parse(t), s.fsys)
			high, low := s.load(t)
			waitFor(t, "HIGH class under pressure", func() bool { return classStatus(d, "high").Pressure })
			if tc.backend == "cgroupfs" {
				waitFor(t, "LOW's memory.high lowered", func() bool { return knob(t, low, "memory.high") != "max" })
				waitFor(t, "HIGH's memory.low raised", func() bool { return knob(t, high, "memory.low") != "0" })
			} else {
				waitFor(t, "LOW's charges delayed", func() bool { return classStatus(d, "low").Counters["delay_active"] > 0 })
				if c := classStatus(d, "high").Counters; c["triggers"] == 0 || c["high_faults"] == 0 {
					t.Errorf("HIGH counters %v; want faults and triggers", c)
				}
			}
			t.Logf("status: %+v", d.Status())
			if knob(t, low, "cpu.weight") != "50" {
				t.Errorf("LOW cpu.weight %s; want the class's 50", knob(t, low, "cpu.weight"))
			}
			stop()
			for g, want := range map[*cgroup.Group][2]string{low: {"memory.high", "max"}, high: {"memory.low", "0"}} {
				if got := knob(t, g, want[0]); got != want[1] {
					t.Errorf("%s/%s = %s after stop; want %s", g.Name(), want[0], got, want[1])
				}
			}
			if got := knob(t, low, "cpu.weight"); got != "100" {
				t.Errorf("cpu.weight %s after stop; want 100", got)
			}
			assertNoLinks(t)
		})
	}
}

func classStatus(d *Daemon, name string) status.ClassStatus {
	for _, c := range d.Status().Classes {
		if c.Name == name {
			return c
		}
	}
	return status.ClassStatus{}
}

// assertNoLinks fails t if a memqos memcg_bpf_ops link is attached, on
// kernels that have memcg_bpf_ops.
func assertNoLinks(t *testing.T) {
	t.Helper()
	if !testutil.Promised(testutil.MemcgOps) {
		return
	}
	var links []bpf.LinkInfo
	var err error
	for i := 0; i < 50; i++ { // the kernel frees links after an RCU grace period
		if links, err = bpf.StructOpsLinks(); err == nil && len(links) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("memqos links still attached: %+v, %v", links, err)
}

// TestRealChurn creates 100 member cgroups at 50 a second, then removes
// them at 50 a second, while the daemon runs: every one gets its policy,
// and nothing is left over.
func TestRealChurn(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2)
	s := newScenario(t, "auto", "auto")
	d, stop := runDaemon(t, s.parse(t), s.fsys)
	defer stop()
	waitFor(t, "the class groups", func() bool { return s.parent.Child("low").Exists() })
	logPickup(t, d, s)
	const n = 100
	start := time.Now()
	for i := range n {
		if _, err := s.fsys.Create(s.parent.Child(fmt.Sprintf("low/s%03d", i)).Name()); err != nil {
			t.Fatal(err)
		}
		pace(start, i)
	}
	t.Logf("created %d members in %v", n, time.Since(start))
	// Under TCG, loading a member's memcg_bpf_ops takes up to a second, so
	// the daemon may lag well behind the creations; it must catch up.
	waitWithin(t, 5*time.Minute, "every member governed", func() bool { return counter(d, "memqos_class_members_added_total", "low") == n+10 })
	for i := range n {
		g := s.parent.Child(fmt.Sprintf("low/s%03d", i))
		if got := knob(t, g, "cpu.weight"); got != "50" {
			t.Errorf("%s cpu.weight %s; want 50", g.Name(), got)
		}
	}
	start = time.Now()
	for i := range n {
		if err := os.Remove(s.parent.Child(fmt.Sprintf("low/s%03d", i)).Path()); err != nil {
			t.Fatal(err)
		}
		pace(start, i)
	}
	t.Logf("removed %d members in %v", n, time.Since(start))
	waitWithin(t, 5*time.Minute, "every member released", func() bool { return counter(d, "memqos_class_members_removed_total", "low") == n+10 })
	if m := counter(d, "memqos_class_members", "low"); m != 0 {
		t.Errorf("%v members still governed", m)
	}
	// The class groups keep their CPU weights while the daemon runs.
	for _, e := range d.knobs.Entries() {
		if e.Cgroup != s.parent.Child("high").Name() && e.Cgroup != s.parent.Child("low").Name() {
			t.Errorf("journal entry left: %+v", e)
		}
	}
	for _, a := range d.plugins.acts {
		if so, ok := a.(*actuate.StructOps); ok && so.Attached() != 0 {
			t.Errorf("%d attachments left", so.Attached())
		}
	}
	assertNoLinks(t)
	lint(t, d)
}

// metricTotal returns the value of the unlabelled series name.
func metricTotal(d *Daemon, name string) float64 {
	mfs, _ := d.metrics.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			m := mf.GetMetric()[0]
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	return 0
}

// logPickup measures, ten times, how long a new member waits for its
// policy: from mkdir to the daemon counting it governed.
func logPickup(t *testing.T, d *Daemon, s *scenario) {
	var lat []time.Duration
	for i := range 10 {
		before := counter(d, "memqos_class_members_added_total", "low")
		start := time.Now()
		g, err := s.fsys.Create(s.parent.Child(fmt.Sprintf("low/p%d", i)).Name())
		if err != nil {
			t.Fatal(err)
		}
		for counter(d, "memqos_class_members_added_total", "low") == before && time.Since(start) < time.Minute {
			time.Sleep(time.Millisecond)
		}
		lat = append(lat, time.Since(start))
		os.Remove(g.Path())
		waitFor(t, "the member released", func() bool { return counter(d, "memqos_class_members", "low") == 0 })
	}
	slices.Sort(lat)
	t.Logf("mkdir to policy applied, %s backend, 10 members one at a time: min %v, median %v, max %v",
		d.plugins.backend(), lat[0].Round(time.Microsecond), lat[5].Round(time.Microsecond), lat[9].Round(time.Microsecond))
}

// pace sleeps until the (i+1)th of a series of events at 50 a second
// that started at start is due.
func pace(start time.Time, i int) {
	time.Sleep(time.Until(start.Add(time.Duration(i+1) * 20 * time.Millisecond)))
}

func counter(d *Daemon, name, class string) float64 { return metricValue(d, name, "class", class) }

// metricValue returns the value of the series of name whose label has
// value; 0 if there is none.
func metricValue(d *Daemon, name, label, value string) float64 {
	mfs, err := d.metrics.reg.Gather()
	if err != nil {
		return -1
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					if m.Counter != nil {
						return m.Counter.GetValue()
					}
					return m.Gauge.GetValue()
				}
			}
		}
	}
	return 0
}

// lint checks the exposition with Prometheus's own linter.
func lint(t *testing.T, d *Daemon) {
	t.Helper()
	mfs, err := d.metrics.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %+v", err, problems)
	}
}

// TestRealCrashLoop SIGKILLs the real daemon twenty times while it
// throttles LOW, restarting it each time, then stops it with SIGTERM:
// every knob is back to its original value and no memqos link is left.
func TestRealCrashLoop(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2)
	s := newScenario(t, "auto", "auto")
	cfgPath := filepath.Join(t.TempDir(), "memqos.yaml")
	if err := os.WriteFile(cfgPath, []byte(s.config), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := testutil.Memqos(t)
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "daemon", "--config", cfgPath)
		cmd.Stderr = testutil.LogWriter(t)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	first := start()
	high, low := s.load(t)
	cmd := first
	for i := range 20 {
		since := time.Now()
		if i > 0 {
			cmd = start()
		}
		waitWithin(t, time.Minute, fmt.Sprintf("round %d: LOW throttled", i), func() bool { return throttled(t, s.state, low, since) })
		cmd.Process.Kill()
		cmd.Wait()
	}
	since := time.Now()
	cmd = start()
	waitFor(t, "the restarted daemon to govern LOW", func() bool { return throttled(t, s.state, low, since) })
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Errorf("daemon stopped with %v; want exit 0", err)
	}
	assertScenarioRestored(t, high, low)
	j, err := journal.Open(s.state)
	if err != nil || len(j.Entries()) != 0 {
		t.Errorf("state file: %v, entries %+v", err, j.Entries())
	}
	assertNoLinks(t)
}

// throttled reports whether a daemon that started after since throttles
// LOW: its status says so (a delay programmed, or memory.high lowered)
// and LOW has the class's cpu.weight.
func throttled(t *testing.T, state string, low *cgroup.Group, since time.Time) bool {
	st, err := fetchStatus(status.SocketPath(state))
	if err != nil || st.Updated.Before(since) || knob(t, low, "cpu.weight") != "50" {
		return false
	}
	return lowSlowed(st)
}

// lowSlowed reports whether the status shows the LOW class delayed, or a
// LOW member's memory.high lowered.
func lowSlowed(st status.Status) bool {
	for _, c := range st.Classes {
		if c.Name != "low" {
			continue
		}
		if c.Delay != "" {
			return true
		}
		for _, m := range c.Members {
			if m.High != nil {
				return true
			}
		}
	}
	return false
}

// fetchStatus asks the daemon on sock for its status.
func fetchStatus(sock string) (status.Status, error) {
	st, _, err := status.Fetch(context.Background(), sock)
	return st, err
}

func unixMunmap(b []byte) { unix.Munmap(b) }

// syncBuffer is a bytes.Buffer safe for a process's writes and the
// test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRealServeReloadStatus runs the real daemon: /metrics over TCP shows
// the per-class and per-member series, memqos status shows the live state,
// a malformed configuration sent with SIGHUP is rejected with its field
// named while the old one stays in force, and a good one is applied.
func TestRealServeReloadStatus(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2)
	s := newScenario(t, "auto", "auto")
	cfgPath := filepath.Join(t.TempDir(), "memqos.yaml")
	listen := "127.0.0.1:19464"
	write := func(text string) {
		if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(s.config + "metrics: {listen: \"" + listen + "\"}\n")
	bin := testutil.Memqos(t)
	var stderr syncBuffer
	cmd := exec.Command(bin, "daemon", "--config", cfgPath)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("daemon ended with %v; want exit 0", err)
		}
	}()
	s.load(t)
	waitWithin(t, time.Minute, "pressure on HIGH", func() bool {
		st, err := fetchStatus(status.SocketPath(s.state))
		return err == nil && len(st.Classes) == 2 && st.Classes[0].Pressure
	})

	resp, err := http.Get("http://" + listen + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := []string{
		`memqos_member_memory_usage_bytes{class="low",member="` + s.parent.Child("low/b").Name() + `"}`,
		`memqos_member_memory_high_bytes{class="high"`,
		`memqos_class_pressure{class="high"} 1`,
		`memqos_class_pressure_triggers_total{class="high"}`,
		`memqos_class_delay_seconds{class="low"}`,
		`memqos_reaction_latency_seconds_count{class="high"} 1`,
		`memqos_escalations_total{action="freeze",class="low"} 0`,
		`memqos_knob_writes_total{file="cpu.weight"}`,
		`memqos_root_memory_limit_bytes 2.68435456e+08`,
	}
	if testutil.Promised(testutil.Tracepoint) { // BPF detectors have counters
		want = append(want, `memqos_class_backend_counter{class="high",counter="high_faults"}`)
	}
	for _, series := range want {
		if !strings.Contains(string(body), series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	if resp, err := http.Get("http://" + listen + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("/healthz: %v %v", resp, err)
	}

	out, err := exec.Command(bin, "status", "--state", s.state).CombinedOutput()
	if err != nil || !strings.Contains(string(out), s.parent.Child("low/b").Name()) || !strings.Contains(string(out), "pressure") {
		t.Errorf("memqos status: %v\n%s", err, out)
	}
	t.Logf("memqos status:\n%s", out)

	write(strings.Replace(s.config, "priority: low", "priority: sideways", 1))
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the reload to be rejected", func() bool {
		return strings.Contains(stderr.String(), "reload rejected") && strings.Contains(stderr.String(), `classes[1].priority: \"sideways\" is not high or low`)
	})
	if _, err := fetchStatus(status.SocketPath(s.state)); err != nil {
		t.Fatalf("daemon stopped answering after a rejected reload: %v", err)
	}
	write(strings.Replace(s.config, "cpu_weight: 50", "cpu_weight: 70", 1))
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the new cpu.weight", func() bool { return knob(t, s.parent.Child("low/b"), "cpu.weight") == "70" })
}

// assertScenarioRestored checks that the scenario's members have the
// knobs they had before memqos: LOW unlimited with the default weight,
// HIGH unprotected with its own 32 MiB memory.high.
func assertScenarioRestored(t *testing.T, high, low *cgroup.Group) {
	t.Helper()
	for _, c := range []struct {
		g          *cgroup.Group
		file, want string
	}{{low, "memory.high", "max"}, {low, "cpu.weight", "100"}, {high, "memory.low", "0"}, {high, "memory.high", "33554432"}} {
		if got := knob(t, c.g, c.file); got != c.want {
			t.Errorf("%s/%s = %s; want %s", c.g.Name(), c.file, got, c.want)
		}
	}
}
