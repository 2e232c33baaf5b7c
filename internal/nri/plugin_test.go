package nri

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/adaptation"
	"github.com/containerd/nri/pkg/api"
	"github.com/memqos/memqos/internal/daemon"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeTarget records the daemon calls the plugin makes.
type fakeTarget struct {
	mu       sync.Mutex
	assigned map[string]daemon.Assignment
	calls    []string
}

func newTarget() *fakeTarget { return &fakeTarget{assigned: map[string]daemon.Assignment{}} }

func (f *fakeTarget) Assign(a daemon.Assignment) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.assigned[a.Cgroup] = a
	f.calls = append(f.calls, "assign "+a.Cgroup+" "+a.Class)
}

func (f *fakeTarget) Unassign(cg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.assigned, cg)
	f.calls = append(f.calls, "unassign "+cg)
}

func (f *fakeTarget) SetAssigned(as []daemon.Assignment) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.assigned = map[string]daemon.Assignment{}
	var names []string
	for _, a := range as {
		f.assigned[a.Cgroup] = a
		names = append(names, a.Cgroup)
	}
	f.calls = append(f.calls, "sync "+strings.Join(names, ","))
}

// classOf returns the class cgroup is assigned to, or "".
func (f *fakeTarget) classOf(cg string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.assigned[cg].Class
}

func (f *fakeTarget) syncs() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if strings.HasPrefix(c, "sync ") {
			n++
		}
	}
	return n
}

// runtime is a real NRI runtime side (the adaptation containerd and CRI-O
// embed) on a socket, with the pods and containers it reports at a sync.
type runtime struct {
	t       *testing.T
	socket  string
	r       *adaptation.Adaptation
	plugins atomic.Int64 // plugins connected and synchronized
	mu      sync.Mutex
	pods    []*api.PodSandbox
	ctrs    []*api.Container
}

func startRuntime(t *testing.T, socket string, pods []*api.PodSandbox, ctrs []*api.Container) *runtime {
	rt := &runtime{t: t, socket: socket, pods: pods, ctrs: ctrs}
	sync := func(ctx context.Context, cb adaptation.SyncCB) error {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		_, err := cb(ctx, rt.pods, rt.ctrs)
		return err
	}
	update := func(context.Context, []*api.ContainerUpdate) ([]*api.ContainerUpdate, error) { return nil, nil }
	r, err := adaptation.New("fake-runtime", "v0", sync, update, adaptation.WithSocketPath(socket),
		adaptation.WithMetrics(pluginCount{&rt.plugins}),
		adaptation.WithPluginPath(filepath.Join(t.TempDir(), "plugins")), adaptation.WithPluginConfigPath(filepath.Join(t.TempDir(), "conf")))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	rt.r = r
	t.Cleanup(r.Stop)
	return rt
}

func sandbox(id, name, parent string, ann map[string]string) *api.PodSandbox {
	return &api.PodSandbox{Id: id, Name: name, Namespace: "agents", Uid: "u-" + id, Annotations: ann,
		Linux: &api.LinuxPodSandbox{CgroupParent: parent}}
}

func ctr(id, podID, name, cgroupsPath string, state api.ContainerState) *api.Container {
	return &api.Container{Id: id, PodSandboxId: podID, Name: name, State: state,
		Linux: &api.LinuxContainer{CgroupsPath: cgroupsPath}}
}

// pluginCount is the adaptation's metrics, of which it keeps the number of
// plugins: the runtime delivers events to a plugin only once it counts it,
// after the plugin's synchronization.
type pluginCount struct{ n *atomic.Int64 }

func (pluginCount) RecordPluginInvocation(string, string, error)                               {}
func (pluginCount) RecordPluginLatency(string, string, time.Duration)                          {}
func (pluginCount) RecordPluginAdjustments(string, string, *api.ContainerAdjustment, int, int) {}
func (c pluginCount) UpdatePluginCount(n int)                                                  { c.n.Store(int64(n)) }

// waitPlugin waits until the runtime delivers events to the plugin.
func (rt *runtime) waitPlugin() {
	rt.t.Helper()
	waitFor(rt.t, "the runtime to count the plugin", func() bool { return rt.plugins.Load() == 1 })
}

// create runs a container's creation through the runtime, as containerd
// does: CreateContainer, then PostCreateContainer.
func (rt *runtime) create(ctx context.Context, sb *api.PodSandbox, c *api.Container) {
	rt.t.Helper()
	if _, err := rt.r.CreateContainer(ctx, &api.CreateContainerRequest{Pod: sb, Container: c}); err != nil {
		rt.t.Fatal(err)
	}
	if err := rt.r.PostCreateContainer(ctx, &api.PostCreateContainerRequest{Pod: sb, Container: c}); err != nil {
		rt.t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestPluginWithRuntime(t *testing.T) {
	cfg := testConfig(t, "  qos: {guaranteed: high, burstable: low}\n")
	cfg.NRI.Socket = filepath.Join(t.TempDir(), "nri.sock")
	var logs bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs, mu: &logMu}, nil))
	target := newTarget()
	p, err := New(cfg, target, log)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(p.Collectors()...)

	// A pod that was running before memqos started: the sync tells of it.
	old := sandbox("p0", "old", "/kubepods/burstable/podu0", nil)
	oldCtr := ctr("c0", "p0", "main", "/kubepods/burstable/podu0/c0", api.ContainerState_CONTAINER_RUNNING)
	gone := ctr("c9", "p0", "done", "/kubepods/burstable/podu0/c9", api.ContainerState_CONTAINER_STOPPED)
	// The plugin reaches the runtime through a proxy whose connections the
	// test can cut, as a runtime's exit does (Stop of the adaptation
	// leaves connected plugins' connections open).
	inner := filepath.Join(filepath.Dir(cfg.NRI.Socket), "runtime.sock")
	link := startProxy(t, cfg.NRI.Socket, inner)
	rt := startRuntime(t, inner, []*api.PodSandbox{old}, []*api.Container{oldCtr, gone})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	waitFor(t, "the sync to assign the running container", func() bool { return target.classOf("/kubepods/burstable/podu0/c0") == "low" })
	rt.waitPlugin()
	if target.classOf("/kubepods/burstable/podu0/c9") != "" {
		t.Error("a stopped container was assigned")
	}

	// New pods: one annotated high, one with an unknown class annotation
	// (burstable: it falls to the QoS rule), one best-effort that nothing
	// classifies.
	bg := context.Background()
	high := sandbox("p1", "agent-1", "/kubepods/burstable/podu1", map[string]string{"memqos.io/class": "high"})
	typo := sandbox("p2", "agent-2", "/kubepods/burstable/podu2", map[string]string{"memqos.io/class": "hihg"})
	be := sandbox("p3", "agent-3", "/kubepods/besteffort/podu3", nil)
	for _, sb := range []*api.PodSandbox{high, typo, be} {
		if err := rt.r.RunPodSandbox(bg, &api.RunPodSandboxRequest{Pod: sb}); err != nil {
			t.Fatal(err)
		}
	}
	rt.create(bg, high, ctr("c1", "p1", "main", "/kubepods/burstable/podu1/c1", api.ContainerState_CONTAINER_CREATED))
	rt.create(bg, typo, ctr("c2", "p2", "main", "/kubepods/burstable/podu2/c2", api.ContainerState_CONTAINER_CREATED))
	rt.create(bg, be, ctr("c3", "p3", "main", "/kubepods/besteffort/podu3/c3", api.ContainerState_CONTAINER_CREATED))
	if got := target.classOf("/kubepods/burstable/podu1/c1"); got != "high" {
		t.Errorf("annotated container class %q; want high", got)
	}
	if got := target.classOf("/kubepods/burstable/podu2/c2"); got != "low" {
		t.Errorf("container with an unknown class annotation got %q; want low (its QoS class)", got)
	}
	if got := target.classOf("/kubepods/besteffort/podu3/c3"); got != "" {
		t.Errorf("unclassified best-effort container assigned to %q", got)
	}
	if n := testutil.ToFloat64(p.m.unknown); n != 1 {
		t.Errorf("memqos_nri_unknown_class_total = %v; want 1", n)
	}
	logMu.Lock()
	if !strings.Contains(logs.String(), `"value":"hihg","instead":"gets class low by its qos"`) {
		t.Errorf("the unknown class event does not say what the pod gets:\n%s", logs.String())
	}
	logMu.Unlock()
	if n := testutil.ToFloat64(p.m.containers.WithLabelValues("high")); n != 1 {
		t.Errorf("memqos_nri_containers{class=high} = %v; want 1", n)
	}

	// Stopping releases; removing the pod forgets it.
	if _, err := rt.r.StopContainer(bg, &api.StopContainerRequest{Pod: typo, Container: ctr("c2", "p2", "main", "", api.ContainerState_CONTAINER_STOPPED)}); err != nil {
		t.Fatal(err)
	}
	if target.classOf("/kubepods/burstable/podu2/c2") != "" {
		t.Error("a stopped container is still assigned")
	}
	if err := rt.r.RemovePodSandbox(bg, &api.RemovePodSandboxRequest{Pod: typo}); err != nil {
		t.Fatal(err)
	}
	// Another pod with an unknown class, which stays: counted once, not
	// again at each sync or reload.
	gold := sandbox("p4", "agent-4", "/kubepods/burstable/podu4", map[string]string{"memqos.io/class": "gold"})
	if err := rt.r.RunPodSandbox(bg, &api.RunPodSandboxRequest{Pod: gold}); err != nil {
		t.Fatal(err)
	}
	if n := testutil.ToFloat64(p.m.unknown); n != 2 {
		t.Errorf("memqos_nri_unknown_class_total = %v; want 2", n)
	}

	// The runtime restarts (its process exits, closing the connection):
	// the plugin connects again and the new sync replaces the assignments
	// with what runs now.
	rt.r.Stop()
	link.cut()
	waitFor(t, "the plugin to see the runtime gone", func() bool { return testutil.ToFloat64(p.m.connected) == 0 })
	syncs := target.syncs()
	rt2 := startRuntime(t, inner, []*api.PodSandbox{high, be, gold}, []*api.Container{
		ctr("c1", "p1", "main", "/kubepods/burstable/podu1/c1", api.ContainerState_CONTAINER_RUNNING),
		ctr("c3", "p3", "main", "/kubepods/besteffort/podu3/c3", api.ContainerState_CONTAINER_RUNNING),
	})
	waitFor(t, "the plugin to reconnect and sync", func() bool { return target.syncs() > syncs })
	rt2.waitPlugin()
	if got := target.classOf("/kubepods/burstable/podu1/c1"); got != "high" {
		t.Errorf("after the runtime restart, the HIGH container has class %q", got)
	}
	if got := target.classOf("/kubepods/burstable/podu0/c0"); got != "" {
		t.Errorf("a container gone during the restart is still assigned to %q", got)
	}
	if n := testutil.ToFloat64(p.m.connections); n != 2 {
		t.Errorf("memqos_nri_connections_total = %v; want 2", n)
	}
	if n := testutil.ToFloat64(p.m.unknown); n != 2 {
		t.Errorf("after the runtime's restart memqos_nri_unknown_class_total = %v; want still 2", n)
	}

	// A reload reclassifies known pods: best-effort pods now go to batch.
	next := testConfig(t, "  qos: {guaranteed: high, burstable: low, besteffort: batch}\n")
	next.NRI.Socket = cfg.NRI.Socket
	p.Reload(next)
	if got := target.classOf("/kubepods/besteffort/podu3/c3"); got != "batch" {
		t.Errorf("after reload the best-effort container has class %q; want batch", got)
	}
	if n := testutil.ToFloat64(p.m.unknown); n != 2 {
		t.Errorf("after a reload memqos_nri_unknown_class_total = %v; want still 2", n)
	}
	target.mu.Lock()
	if !slices.ContainsFunc(target.calls, func(c string) bool { return strings.HasPrefix(c, "unassign /kubepods/burstable/podu2/c2") }) {
		t.Errorf("no unassign call for the stopped container: %v", target.calls)
	}
	target.mu.Unlock()
}

// lockedWriter serializes writes of the handler's goroutines.
type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// proxy forwards connections from a socket to another, and can cut them
// all.
type proxy struct {
	mu    sync.Mutex
	conns []net.Conn
}

func startProxy(t *testing.T, from, to string) *proxy {
	t.Helper()
	l, err := net.Listen("unix", from)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	px := &proxy{}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("unix", to)
			if err != nil {
				c.Close()
				continue
			}
			px.mu.Lock()
			px.conns = append(px.conns, c, up)
			px.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return px
}

func (px *proxy) cut() {
	px.mu.Lock()
	defer px.mu.Unlock()
	for _, c := range px.conns {
		c.Close()
	}
	px.conns = nil
}
