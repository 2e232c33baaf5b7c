package daemon

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/journal"
	"github.com/memqos/memqos/internal/status"
	"github.com/memqos/memqos/internal/testutil"
	"github.com/memqos/memqos/internal/testutil/kubenode"
)

// kubeConfig is memqos nri's configuration in TestRealKubeNRI: the pods'
// parent is the root, burstable pods are LOW by their QoS class.
const kubeConfig = `
root: kubepods
backend: auto
state: %s
detector: {source: auto, threshold: 50, stall: 10ms, window: 1s, hold: 1s, headroom: 200MiB}
nri:
  socket: %s
  qos: {burstable: low}
classes:
  - {name: high, priority: high, protect: low}
  - {name: low, priority: low, floor: 16MiB, step: 64MiB, delay: 50ms, cpu_weight: 50, escalation: {after: 10m, action: none}}
metrics: {listen: "%s"}
`

// kubeScenario is a containerd node whose pods' parent, /kubepods, is
// limited to 1100 MB, and memqos nri governing it.
type kubeScenario struct {
	node   *kubenode.Node
	fsys   *cgroup.FS
	kube   *cgroup.Group
	dir    string
	config string
	state  string
	listen string
	daemon *exec.Cmd
	log    *os.File
}

func newKubeScenario(t *testing.T, listen string) *kubeScenario {
	t.Helper()
	testutil.Require(t, testutil.Kube)
	fsys, err := cgroup.Open("")
	if err != nil {
		t.Fatal(err)
	}
	s := &kubeScenario{fsys: fsys, dir: t.TempDir(), listen: listen}
	s.node = kubenode.Start(t, kubenode.Options{})
	s.kube = s.nodeLimit(t, 1100e6)
	s.state = filepath.Join(s.dir, "state.json")
	s.config = filepath.Join(s.dir, "memqos.yaml")
	cfg := fmt.Sprintf(kubeConfig, s.state, s.node.NRISocket(), listen)
	if err := os.WriteFile(s.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"traces", "out"} {
		if err := os.Mkdir(filepath.Join(s.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if s.daemon != nil && s.daemon.ProcessState == nil {
			s.daemon.Process.Kill()
			s.daemon.Wait()
		}
	})
	return s
}

// nodeLimit makes /kubepods, as the kubelet does, with memory.max set to
// limit (the node's allocatable memory), and restores it at the end.
func (s *kubeScenario) nodeLimit(t *testing.T, limit cgroup.Limit) *cgroup.Group {
	t.Helper()
	root := s.fsys.Group("")
	if err := root.EnableControllers("memory"); err != nil {
		t.Fatal(err)
	}
	kube := s.fsys.Group("kubepods")
	if !kube.Exists() {
		if _, err := s.fsys.Create("kubepods"); err != nil {
			t.Fatal(err)
		}
	}
	old, err := kube.ReadString(cgroup.MemoryMax)
	if err != nil {
		t.Fatal(err)
	}
	if err := kube.SetLimit(cgroup.MemoryMax, limit); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kube.Set(cgroup.MemoryMax, old) })
	return kube
}

// start starts memqos nri, its log appended to the scenario's log file.
func (s *kubeScenario) start(t *testing.T) {
	t.Helper()
	if s.log == nil {
		f, err := os.Create(filepath.Join(s.dir, "memqos.log"))
		if err != nil {
			t.Fatal(err)
		}
		s.log = f
		t.Cleanup(func() {
			f.Close()
			if t.Failed() {
				b, _ := os.ReadFile(f.Name())
				t.Logf("memqos nri log:\n%s", b)
			}
		})
	}
	s.daemon = exec.Command(testutil.Memqos(t), "nri", "--config", s.config)
	s.daemon.Stderr = s.log
	if err := s.daemon.Start(); err != nil {
		t.Fatal(err)
	}
	waitWithin(t, time.Minute, "memqos connected to containerd", func() bool { return s.metric(t, "memqos_nri_connected") == "1" })
}

// metrics returns /metrics, or "" if the daemon does not answer.
func (s *kubeScenario) metrics(t *testing.T) string {
	resp, err := http.Get("http://" + s.listen + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// metric returns the value of the series named exactly series (name and
// labels), or "".
func (s *kubeScenario) metric(t *testing.T, series string) string {
	for _, line := range strings.Split(s.metrics(t), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}

func (s *kubeScenario) status() status.Status {
	st, _ := fetchStatus(status.SocketPath(s.state))
	return st
}

// members returns the members of class, sorted, and their owners.
func (s *kubeScenario) members(class string) (cgroups []string, owners map[string]string) {
	owners = map[string]string{}
	for _, c := range s.status().Classes {
		if c.Name == class {
			for _, m := range c.Members {
				cgroups = append(cgroups, m.Cgroup)
				owners[m.Cgroup] = m.Owner
			}
		}
	}
	slices.Sort(cgroups)
	return cgroups, owners
}

// pod is a pod of the scenario and its one container.
type pod struct {
	spec      kubenode.Pod
	id, ctr   string
	cgroup    *cgroup.Group
	container string    // its name
	started   time.Time // when crictl start returned
}

// run runs a pod with one container running args.
func (s *kubeScenario) run(t *testing.T, spec kubenode.Pod, name string, args ...string) *pod {
	t.Helper()
	p := &pod{spec: spec, container: name}
	p.id = s.node.RunPod(t, spec)
	p.ctr = s.node.CreateContainer(t, p.id, spec, kubenode.Container{Name: name, Command: args, Mounts: []kubenode.Mount{
		{Host: filepath.Join(s.dir, "traces"), Container: "/traces"}, {Host: filepath.Join(s.dir, "out"), Container: "/out"}}})
	s.node.StartContainer(t, p.ctr)
	p.started = time.Now()
	p.cgroup = s.fsys.Group(s.node.CgroupPath(t, p.ctr))
	return p
}

// replay runs a pod whose container replays the trace at path at its own
// speed.
func (s *kubeScenario) replay(t *testing.T, spec kubenode.Pod, path string) *pod {
	t.Helper()
	return s.run(t, spec, "replay", "/bin/memqos", "trace", "replay", path, "--speed", "1", "--base-mb", "0",
		"--cgroup", "self", "-o", "/out/"+spec.Name+".json")
}

// owner is how memqos names a pod's container in /status.
func (p *pod) owner() string {
	return fmt.Sprintf("pod %s/%s container %s", p.spec.Namespace, p.spec.Name, p.container)
}

func podCgroups(ps ...*pod) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.cgroup.Name())
	}
	slices.Sort(out)
	return out
}

// logPickup logs, from memqos's log, when each container was governed:
// after its assignment (the runtime's PostCreateContainer, before
// containerd creates the container's task and its cgroup), and relative
// to crictl start's return (negative: before it returned).
func (s *kubeScenario) logPickup(t *testing.T, ps ...*pod) {
	t.Helper()
	b, err := os.ReadFile(s.log.Name())
	if err != nil {
		t.Fatal(err)
	}
	assigned := map[string]time.Time{}
	for _, line := range strings.Split(string(b), "\n") {
		var e struct {
			Time   time.Time `json:"time"`
			Msg    string    `json:"msg"`
			Event  string    `json:"event"`
			Cgroup string    `json:"cgroup"`
		}
		if json.Unmarshal([]byte(line), &e) != nil {
			continue
		}
		switch {
		case e.Msg == "container assigned":
			assigned[e.Cgroup] = e.Time
		case e.Msg == "member" && e.Event == "added" && !assigned[e.Cgroup].IsZero():
			for _, p := range ps {
				if p.cgroup.Name() == e.Cgroup {
					t.Logf("%s (%s) governed %v after its assignment, %v after crictl start returned", p.spec.Name, e.Cgroup,
						e.Time.Sub(assigned[e.Cgroup]).Round(time.Millisecond), e.Time.Sub(p.started).Round(time.Millisecond))
				}
			}
			delete(assigned, e.Cgroup)
		}
	}
}

// kill ends memqos nri with SIGKILL, as a crash or an OOM kill would.
func (s *kubeScenario) kill(t *testing.T) {
	t.Helper()
	s.daemon.Process.Kill()
	s.daemon.Wait()
}

// stop ends memqos nri with SIGTERM and checks it restored everything.
func (s *kubeScenario) stop(t *testing.T) {
	t.Helper()
	stopDaemon(t, s.daemon, s.state)
}

func (s *kubeScenario) journal(t *testing.T) []journal.Entry {
	t.Helper()
	j, err := journal.Open(s.state)
	if err != nil {
		t.Fatal(err)
	}
	return j.Entries()
}

// TestRealKubeNRI runs memqos nri on a containerd node (runc, crictl, no
// kubelet): one HIGH and two LOW pods replay traces under the node's
// 1100 MB limit on /kubepods. The pods are classified by annotation and by
// QoS class, a typo'd class and an excluded namespace are handled, HIGH is
// protected and LOW slowed with no OOM kill; memqos is SIGKILLed mid-run
// and resyncs with nothing lost or applied twice; containerd restarts and
// memqos reconnects; deleting the pods leaves nothing behind.
func TestRealKubeNRI(t *testing.T) {
	s := newKubeScenario(t, "127.0.0.1:19474")
	s.start(t)

	low, high := contentionTraces()
	lowTrace, highTrace := writeTraceIn(t, filepath.Join(s.dir, "traces"), "low", low), writeTraceIn(t, filepath.Join(s.dir, "traces"), "high", high)

	// low1 is LOW by its QoS class (burstable), low2 by its annotation.
	low1 := s.replay(t, kubenode.Pod{Name: "agent-low-1", Namespace: "agents", UID: "ul1", CgroupParent: "/kubepods/burstable/podul1"}, lowTrace)
	low2 := s.replay(t, kubenode.Pod{Name: "agent-low-2", Namespace: "agents", UID: "ul2", CgroupParent: "/kubepods/besteffort/podul2",
		Annotations: map[string]string{"memqos.io/class": "low"}}, lowTrace)
	for _, p := range []*pod{low1, low2} {
		waitWithin(t, 2*time.Minute, p.spec.Name+" at 300 MB", func() bool { u, _ := p.cgroup.MemoryCurrent(); return u >= 300e6 })
	}
	hi := s.replay(t, kubenode.Pod{Name: "agent-high", Namespace: "agents", UID: "uh", CgroupParent: "/kubepods/burstable/poduh",
		Annotations: map[string]string{"memqos.io/class": "high"}}, highTrace)
	// A class name nobody has: the pod runs, and is LOW by its QoS class.
	typo := s.run(t, kubenode.Pod{Name: "agent-typo", Namespace: "agents", UID: "ut", CgroupParent: "/kubepods/burstable/podut",
		Annotations: map[string]string{"memqos.io/class": "hihg"}}, "sleeper", "sleep", "600")
	// kube-system is excluded, whatever the annotation says.
	sys := s.run(t, kubenode.Pod{Name: "coredns", Namespace: "kube-system", UID: "us", CgroupParent: "/kubepods/burstable/podus",
		Annotations: map[string]string{"memqos.io/class": "high"}}, "sleeper", "sleep", "600")
	lows := []*pod{low1, low2, typo}

	governed := func() bool {
		l, lo := s.members("low")
		h, ho := s.members("high")
		if !slices.Equal(l, podCgroups(lows...)) || !slices.Equal(h, podCgroups(hi)) {
			return false
		}
		for _, p := range lows {
			if lo[p.cgroup.Name()] != p.owner() {
				return false
			}
		}
		return ho[hi.cgroup.Name()] == hi.owner()
	}
	waitWithin(t, 2*time.Minute, "the HIGH and the three LOW containers governed, with their pods as owners", governed)
	waitWithin(t, 2*time.Minute, "HIGH under pressure", func() bool {
		for _, c := range s.status().Classes {
			if c.Name == "high" && c.Pressure {
				return true
			}
		}
		return false
	})
	waitWithin(t, 2*time.Minute, "LOW delayed or limited", func() bool { return lowSlowed(s.status()) })
	if !testutil.Promised(testutil.MemcgOps) {
		waitWithin(t, time.Minute, "HIGH's memory.low raised", func() bool { return knob(t, hi.cgroup, "memory.low") != "0" })
	}
	for series, want := range map[string]string{
		`memqos_nri_containers{class="high"}`:             "1",
		`memqos_nri_containers{class="low"}`:              "3",
		`memqos_nri_pods{class="high",rule="annotation"}`: "1",
		`memqos_nri_pods{class="low",rule="annotation"}`:  "1",
		`memqos_nri_pods{class="low",rule="qos"}`:         "2",
		`memqos_nri_pods{class="",rule="excluded"}`:       "1",
		`memqos_nri_unknown_class_total`:                  "1",
		`memqos_class_members{class="high"}`:              "1",
		`memqos_class_members{class="low"}`:               "3",
		`memqos_nri_connections_total`:                    "1",
	} {
		if got := s.metric(t, series); got != want {
			t.Errorf("%s = %q; want %s", series, got, want)
		}
	}
	s.logPickup(t, append([]*pod{hi}, lows...)...)
	if w := knob(t, low1.cgroup, "cpu.weight"); w != "50" {
		t.Errorf("%s cpu.weight %s; want the class's 50", low1.cgroup.Name(), w)
	}
	if w := knob(t, sys.cgroup, "cpu.weight"); w == "50" || w == "10000" {
		t.Errorf("the kube-system container got a class's cpu.weight %s", w)
	}
	originals := map[string]string{}
	for _, e := range s.journal(t) {
		originals[e.Cgroup+" "+e.File] = e.Original
	}
	t.Logf("journal while governed: %v", originals)

	// memqos dies mid-run (SIGKILL: nothing restored on the way out) and
	// starts again: it restores what the dead one left changed, learns
	// every pod from containerd's sync, and governs them again; the
	// journal holds the same originals, not values memqos wrote.
	s.kill(t)
	s.start(t)
	waitWithin(t, 2*time.Minute, "the containers governed again after memqos's restart", governed)
	for _, e := range s.journal(t) {
		if want, ok := originals[e.Cgroup+" "+e.File]; ok && e.Original != want {
			t.Errorf("after the restart the journal has %s %s original %q; before it had %q", e.Cgroup, e.File, e.Original, want)
		}
		if e.File == "cpu.weight" && (e.Original == "50" || e.Original == "10000") {
			t.Errorf("journal records memqos's own cpu.weight %s as %s's original", e.Original, e.Cgroup)
		}
		if e.File == cgroup.MemoryHigh && e.Original != "max" {
			t.Errorf("journal records memory.high %s as %s's original; the container had max", e.Original, e.Cgroup)
		}
	}
	if n := s.metric(t, `memqos_class_members_added_total{class="low"}`); n != "3" {
		t.Errorf("after the restart, LOW members added %s times; want each of the 3 once", n)
	}
	waitWithin(t, 2*time.Minute, "LOW delayed or limited after the restart", func() bool { return lowSlowed(s.status()) })

	// containerd restarts: the containers keep running, memqos connects
	// again, and keeps governing the same members.
	s.node.Restart(t)
	waitWithin(t, 2*time.Minute, "memqos reconnected to containerd", func() bool {
		return s.metric(t, "memqos_nri_connections_total") == "2" && s.metric(t, "memqos_nri_connected") == "1"
	})
	if !governed() {
		l, _ := s.members("low")
		h, _ := s.members("high")
		t.Errorf("after containerd's restart members are high %v low %v", h, l)
	}

	if oom := oomKills(t, s.kube); oom != 0 {
		t.Errorf("%d OOM kills under /kubepods; want none", oom)
	}
	for _, p := range append([]*pod{hi}, lows...) {
		if st := s.node.Inspect(t, p.ctr); st.State != kubenode.Running {
			t.Errorf("pod %s's container: %+v; want it running", p.spec.Name, st)
		}
	}
	t.Logf("status while governed: %+v", s.status())

	// Deleting the pods releases their containers and leaves nothing.
	for _, p := range append([]*pod{hi, sys}, lows...) {
		s.node.StopPod(t, p.id)
		s.node.RemovePod(t, p.id)
	}
	waitWithin(t, time.Minute, "every container released", func() bool {
		l, _ := s.members("low")
		h, _ := s.members("high")
		return len(l) == 0 && len(h) == 0
	})
	for _, p := range append([]*pod{hi, sys}, lows...) {
		if p.cgroup.Exists() {
			t.Errorf("%s's container cgroup %s is left", p.spec.Name, p.cgroup.Name())
		}
	}
	if es := s.journal(t); len(es) != 0 {
		t.Errorf("journal entries left with every pod deleted: %+v", es)
	}
	for _, class := range []string{"high", "low"} {
		if got := s.metric(t, `memqos_nri_containers{class="`+class+`"}`); got != "0" {
			t.Errorf("memqos_nri_containers{class=%q} = %q with every pod deleted", class, got)
		}
	}
	s.stop(t)
}
