package daemon

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/bpf"
	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/journal"
	"github.com/memqos/memqos/internal/podman"
	"github.com/memqos/memqos/internal/status"
	"github.com/memqos/memqos/internal/testutil"
	"github.com/memqos/memqos/internal/trace"
)

// These tests run the real daemon over podman containers, in a Debian
// rootfs guest (the guest tier promises podman there). The root memqos
// owns is limited to 1100 MB, as in the reference experiment; containers
// join a class with podman run --cgroup-parent ROOT/CLASS.

const podmanConfig = `
root: %s
backend: auto
state: %s
detector: {source: auto, threshold: 50, stall: 10ms, window: 1s, hold: 1s, headroom: 200MiB}
classes:
  - {name: high, priority: high, protect: low}
  - {name: low, priority: low, floor: 16MiB, step: 64MiB, delay: 50ms, cpu_weight: 50, escalation: {after: 10m, action: none}%s}
metrics: {listen: "%s"}
`

// podmanScenario is a root limited to 1100 MB, a running daemon
// governing it, and the containers started in it.
type podmanScenario struct {
	parent *cgroup.Group
	fsys   *cgroup.FS
	state  string
	listen string
	image  string
	traces string
	daemon *exec.Cmd

	mu         sync.Mutex
	containers []string
}

// newPodmanScenario starts the daemon with metrics on listen; lowExtra
// adds fields to the LOW class (", memory_max: 300MiB").
func newPodmanScenario(t *testing.T, listen, lowExtra string) *podmanScenario {
	t.Helper()
	testutil.Require(t, testutil.Root, testutil.CgroupV2)
	image := testutil.SandboxImage(t)
	parent := testutil.ParentCgroup(t)
	if err := parent.SetLimit(cgroup.MemoryMax, 1100e6); err != nil {
		t.Fatal(err)
	}
	fsys, err := cgroup.Open("")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &podmanScenario{parent: parent, fsys: fsys, state: filepath.Join(dir, "state.json"), listen: listen, image: image, traces: filepath.Join(dir, "traces")}
	if err := os.Mkdir(s.traces, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "memqos.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(podmanConfig, parent.Path(), s.state, lowExtra, listen)), 0o644); err != nil {
		t.Fatal(err)
	}
	s.daemon = exec.Command(testutil.Memqos(t), "daemon", "--config", cfg)
	s.daemon.Stderr = testutil.LogWriter(t)
	if err := s.daemon.Start(); err != nil {
		t.Fatal(err)
	}
	// Cleanups run last-in first-out: the containers go before the daemon
	// stops, and the daemon stops before the parent group is removed.
	t.Cleanup(func() { s.daemon.Process.Kill(); s.daemon.Wait() })
	t.Cleanup(func() { s.removeAll(t) })
	waitWithin(t, time.Minute, "the class groups", func() bool {
		return parent.Child("high").Exists() && parent.Child("low").Exists()
	})
	return s
}

// writeTrace writes a native trace of samples (ms, MB) named name, and
// returns its path inside the containers.
func (s *podmanScenario) writeTrace(t *testing.T, name string, samples [][2]int64) string {
	t.Helper()
	return writeTraceIn(t, s.traces, name, samples)
}

// writeTraceIn writes a native trace of samples (ms, MB) named name in
// dir, and returns its path as the containers see dir: /traces/NAME.json.
func writeTraceIn(t *testing.T, dir, name string, samples [][2]int64) string {
	t.Helper()
	tr := &trace.Trace{Name: name, Source: "memqos test"}
	for _, sm := range samples {
		tr.Samples = append(tr.Samples, trace.Sample{TimeMS: sm[0], Total: sm[1] * 1e6})
	}
	var b bytes.Buffer
	if err := trace.Encode(&b, tr); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return "/traces/" + name + ".json"
}

// contentionTraces are the samples (ms, MB) of the container tests' LOW
// and HIGH sessions. LOW takes 300 MB at once, then 4 MB every half second
// up to 380 MB, held for 10 minutes; HIGH swings between 100 and 200 MB
// every second, so that it faults all the time. Two LOW and one HIGH come
// near 1100 MB.
func contentionTraces() (low, high [][2]int64) {
	low = [][2]int64{{0, 300}}
	for i := int64(1); i <= 20; i++ {
		low = append(low, [2]int64{i * 500, 300 + 4*i})
	}
	low = append(low, [2]int64{600_000, 380})
	for i := int64(0); i <= 600; i++ {
		high = append(high, [2]int64{i * 1000, 100 + 100*(i%2)})
	}
	return low, high
}

// podmanCmd runs podman with args and returns its trimmed stdout.
func podmanCmd(t *testing.T, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("podman", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("podman %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// run starts a container named name in class, running args in the
// sandbox image, and returns its cgroup.
func (s *podmanScenario) run(t *testing.T, class, name string, args ...string) *cgroup.Group {
	t.Helper()
	return s.runWith(t, class, name, nil, args...)
}

// runWith is run with more podman run options, opts.
func (s *podmanScenario) runWith(t *testing.T, class, name string, opts []string, args ...string) *cgroup.Group {
	t.Helper()
	s.mu.Lock()
	s.containers = append(s.containers, name)
	s.mu.Unlock()
	run := append([]string{"run", "-d", "--name", name, "--cgroup-parent", s.parent.Child(class).Path()[len(s.fsys.Root):],
		"-v", s.traces + ":/traces:ro"}, opts...)
	podmanCmd(t, append(append(run, s.image), args...)...)
	return s.cgroupOf(t, name)
}

// cgroupOf returns the cgroup of the running container name.
func (s *podmanScenario) cgroupOf(t *testing.T, name string) *cgroup.Group {
	t.Helper()
	c, err := podman.Inspect(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Running || c.Cgroup == "" {
		t.Fatalf("container %s is not running: %+v", name, c)
	}
	return s.fsys.Group(c.Cgroup)
}

// replay starts a container in class that replays the trace at path, at
// the trace's own speed, without a base.
func (s *podmanScenario) replay(t *testing.T, class, name, path string) *cgroup.Group {
	t.Helper()
	return s.run(t, class, name, "memqos", "trace", "replay", path, "--speed", "1", "--base-mb", "0", "--cgroup", "self", "-o", "/tmp/result.json")
}

// removeAll removes every container the scenario started.
func (s *podmanScenario) removeAll(t *testing.T) {
	s.mu.Lock()
	names := slices.Clone(s.containers)
	s.mu.Unlock()
	if len(names) == 0 {
		return
	}
	out, err := exec.Command("podman", append([]string{"rm", "-f", "-t", "0", "--ignore"}, names...)...).CombinedOutput()
	if err != nil {
		t.Errorf("podman rm -f: %v: %s", err, out)
	}
}

func (s *podmanScenario) status(t *testing.T) status.Status {
	st, err := fetchStatus(status.SocketPath(s.state))
	if err != nil {
		return status.Status{}
	}
	return st
}

// members returns the members of class, as cgroup paths relative to the
// mount.
func (s *podmanScenario) members(t *testing.T, class string) []string {
	var names []string
	for _, c := range s.status(t).Classes {
		if c.Name == class {
			for _, m := range c.Members {
				names = append(names, m.Cgroup)
			}
		}
	}
	slices.Sort(names)
	return names
}

func (s *podmanScenario) metrics(t *testing.T) string {
	t.Helper()
	resp, err := http.Get("http://" + s.listen + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// stop stops the daemon with SIGTERM and checks that it left no journal
// entry and no memqos link behind.
func (s *podmanScenario) stop(t *testing.T) {
	t.Helper()
	stopDaemon(t, s.daemon, s.state)
}

// stopDaemon ends the memqos process cmd, whose state file is state, with
// SIGTERM, and checks that it exited 0 and left no journal entry and no
// memqos link behind.
func stopDaemon(t *testing.T, cmd *exec.Cmd, state string) {
	t.Helper()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("%s ended with %v; want exit 0", strings.Join(cmd.Args[:2], " "), err)
	}
	j, err := journal.Open(state)
	if err != nil || len(j.Entries()) != 0 {
		t.Errorf("state file after stop: %v, entries %+v", err, j.Entries())
	}
	assertNoLinks(t)
}

// journalFor returns the journal entries for the cgroup rel.
func (s *podmanScenario) journalFor(t *testing.T, rel string) []journal.Entry {
	j, err := journal.Open(s.state)
	if err != nil {
		t.Fatal(err)
	}
	var es []journal.Entry
	for _, e := range j.Entries() {
		if e.Cgroup == rel {
			es = append(es, e)
		}
	}
	return es
}

// links returns how many memqos memcg_bpf_ops links are attached, or -1
// on kernels without memcg_bpf_ops.
func links(t *testing.T) int {
	if !testutil.Promised(testutil.MemcgOps) {
		return -1
	}
	ls, err := bpf.StructOpsLinks()
	if err != nil {
		t.Fatal(err)
	}
	return len(ls)
}

// TestRealPodmanContainers runs one HIGH and two LOW containers, each
// replaying a trace, under the daemon: the containers (not podman's
// conmon group) are the members, HIGH's pressure is seen, HIGH is
// protected and LOW slowed, nothing is OOM-killed; a throttled LOW
// container removed with podman rm -f, and one killed and restarted,
// leave nothing behind; stopping the daemon restores everything.
func TestRealPodmanContainers(t *testing.T) {
	s := newPodmanScenario(t, "127.0.0.1:19471", "")
	low, high := contentionTraces()
	lowTrace, highTrace := s.writeTrace(t, "low", low), s.writeTrace(t, "high", high)

	lows := []*cgroup.Group{s.replay(t, "low", "low1", lowTrace), s.replay(t, "low", "low2", lowTrace)}
	for _, g := range lows {
		waitWithin(t, 2*time.Minute, g.Name()+" at 300 MB", func() bool { u, _ := g.MemoryCurrent(); return u >= 300e6 })
	}
	hi := s.replay(t, "high", "high1", highTrace)
	waitWithin(t, 2*time.Minute, "the three containers governed", func() bool {
		return slices.Equal(s.members(t, "low"), sortedNames(lows...)) && slices.Equal(s.members(t, "high"), sortedNames(hi))
	})
	if conmon := s.parent.Child("low/conmon"); conmon.Exists() {
		t.Logf("podman's %s exists and is not a member", conmon.Name())
	}
	waitWithin(t, 2*time.Minute, "HIGH under pressure", func() bool {
		for _, c := range s.status(t).Classes {
			if c.Name == "high" && c.Pressure {
				return true
			}
		}
		return false
	})
	waitWithin(t, 2*time.Minute, "LOW delayed or limited", func() bool { return lowSlowed(s.status(t)) })
	if !testutil.Promised(testutil.MemcgOps) {
		waitWithin(t, time.Minute, "HIGH's memory.low raised", func() bool { return knob(t, hi, "memory.low") != "0" })
	}
	for _, g := range lows {
		if w := knob(t, g, "cpu.weight"); w != "50" {
			t.Errorf("%s cpu.weight %s; want the class's 50", g.Name(), w)
		}
	}
	t.Logf("status while governed: %+v", s.status(t))

	m := s.metrics(t)
	for _, series := range []string{
		`memqos_class_members{class="low"} 2`,
		`memqos_class_members{class="high"} 1`,
		`memqos_member_memory_usage_bytes{class="low",member="` + lows[0].Name() + `"}`,
		`memqos_member_memory_usage_bytes{class="high",member="` + hi.Name() + `"}`,
	} {
		if !strings.Contains(m, series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	out, err := exec.Command(testutil.Memqos(t), "status", "--state", s.state).CombinedOutput()
	if err != nil || !strings.Contains(string(out), lows[1].Name()) || !strings.Contains(string(out), hi.Name()) {
		t.Errorf("memqos status does not show the containers: %v\n%s", err, out)
	}
	t.Logf("memqos status:\n%s", out)
	if oom := oomKills(t, s.parent); oom != 0 {
		t.Errorf("%d OOM kills under the root; want none", oom)
	}
	for _, name := range []string{"low1", "low2", "high1"} {
		if c, err := podman.Inspect(context.Background(), name); err != nil || !c.Running {
			t.Errorf("container %s: %+v, %v; want it running", name, c, err)
		}
	}

	// A throttled LOW container removed with podman rm -f.
	if len(s.journalFor(t, lows[0].Name())) == 0 {
		t.Errorf("no journal entry for %s while governed", lows[0].Name())
	}
	before := links(t)
	podmanCmd(t, "rm", "-f", "-t", "0", "low1")
	waitWithin(t, time.Minute, "low1 released", func() bool { return slices.Equal(s.members(t, "low"), sortedNames(lows[1])) })
	if es := s.journalFor(t, lows[0].Name()); len(es) != 0 {
		t.Errorf("journal entries left for the removed container: %+v", es)
	}
	if before >= 0 {
		waitWithin(t, 10*time.Second, "low1's link detached", func() bool { return links(t) == before-1 })
	}

	// A LOW container killed and started again is governed again.
	podmanCmd(t, "kill", "low2")
	waitWithin(t, time.Minute, "low2 released", func() bool { return len(s.members(t, "low")) == 0 })
	podmanCmd(t, "start", "low2")
	again := s.cgroupOf(t, "low2")
	waitWithin(t, time.Minute, "low2 governed again", func() bool { return slices.Equal(s.members(t, "low"), sortedNames(again)) })
	waitWithin(t, time.Minute, "low2's cpu.weight", func() bool { return knob(t, again, "cpu.weight") == "50" })

	s.removeAll(t)
	waitWithin(t, time.Minute, "every container released", func() bool {
		return len(s.members(t, "low")) == 0 && len(s.members(t, "high")) == 0
	})
	s.stop(t)
	for _, class := range []string{"high", "low"} {
		if w := knob(t, s.parent.Child(class), "cpu.weight"); w != "100" {
			t.Errorf("%s cpu.weight %s after stop; want 100", class, w)
		}
	}
}

func sortedNames(gs ...*cgroup.Group) []string {
	var names []string
	for _, g := range gs {
		names = append(names, g.Name())
	}
	slices.Sort(names)
	return names
}

// oomKills returns the OOM kills counted in g's subtree.
func oomKills(t *testing.T, g *cgroup.Group) uint64 {
	t.Helper()
	ev, err := g.MemoryEvents()
	if err != nil {
		t.Fatal(err)
	}
	return ev.OOMKill
}

// TestRealPodmanChurn starts 50 LOW containers, launched at 10 a second,
// and removes them all with podman rm -f while the daemon runs: every one
// is governed, every one is released, and no journal entry or link is
// left.
func TestRealPodmanChurn(t *testing.T) {
	s := newPodmanScenario(t, "127.0.0.1:19472", "")
	const n = 50
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		name := fmt.Sprintf("churn%02d", i)
		s.mu.Lock()
		s.containers = append(s.containers, name)
		s.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := exec.Command("podman", "run", "-d", "--name", name, "--cgroup-parent", s.parent.Child("low").Path()[len(s.fsys.Root):], s.image, "sleep", "600").CombinedOutput()
			if err != nil {
				errs <- fmt.Errorf("podman run %s: %v: %s", name, err, out)
			}
		}()
		time.Sleep(time.Until(start.Add(time.Duration(i+1) * 100 * time.Millisecond)))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d containers launched at 10/s, all running after %v", n, time.Since(start).Round(time.Millisecond))
	waitWithin(t, 5*time.Minute, "every container governed", func() bool { return len(s.members(t, "low")) == n })
	for _, m := range s.members(t, "low") {
		if !strings.Contains(filepath.Base(m), "libpod-") {
			t.Errorf("member %s is not a container's group", m)
		}
	}
	start = time.Now()
	s.removeAll(t)
	t.Logf("podman rm -f of %d containers took %v", n, time.Since(start).Round(time.Millisecond))
	waitWithin(t, 5*time.Minute, "every container released", func() bool { return len(s.members(t, "low")) == 0 })
	j, err := journal.Open(s.state)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range j.Entries() {
		if e.Cgroup != s.parent.Child("high").Name() && e.Cgroup != s.parent.Child("low").Name() {
			t.Errorf("journal entry left: %+v", e)
		}
	}
	if l := links(t); l > 0 {
		t.Errorf("%d memqos links attached with no container left", l)
	}
	s.stop(t)
}

// TestRealPodmanLimits checks whose memory.max wins when podman's --memory
// and a class's memory_max both set it: the class's while the container
// is a member, podman's again once memqos stops; and a container without
// --memory gets the class's limit and its own "max" back.
func TestRealPodmanLimits(t *testing.T) {
	s := newPodmanScenario(t, "127.0.0.1:19473", ", memory_max: 300MiB")
	limited := s.runWith(t, "low", "limited", []string{"--memory", "500m"}, "sleep", "600")
	free := s.run(t, "low", "free", "sleep", "600")
	if got := knob(t, limited, "memory.max"); got != "524288000" && got != "314572800" {
		t.Fatalf("podman --memory 500m gave memory.max %s", got)
	}
	for _, g := range []*cgroup.Group{limited, free} {
		waitWithin(t, time.Minute, g.Name()+" at the class's memory_max", func() bool { return knob(t, g, "memory.max") == "314572800" })
	}
	s.stop(t)
	for g, want := range map[*cgroup.Group]string{limited: "524288000", free: "max"} {
		if got := knob(t, g, "memory.max"); got != want {
			t.Errorf("%s memory.max %s after the daemon stopped; want podman's %s", g.Name(), got, want)
		}
	}
}
