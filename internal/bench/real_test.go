package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/kernel"
	"github.com/memqos/memqos/internal/testutil"
	"github.com/memqos/memqos/internal/trace"
	"github.com/memqos/memqos/internal/trace/replay"
)

// writeTrace writes a trace that climbs to peak bytes in steps, holds,
// and falls, over n samples 100 ms apart.
func writeTrace(t *testing.T, dir, name string, peak int64, n int) string {
	t.Helper()
	tr := &trace.Trace{Name: name, Source: "memqos bench test", IntervalMS: 100}
	for i := 0; i < n; i++ {
		total := peak * int64(min(i, n-1-i)+1) / int64(n/2)
		tr.Samples = append(tr.Samples, trace.Sample{TimeMS: int64(i) * 100, Total: min(total, peak)})
	}
	p := filepath.Join(dir, name+".json")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := trace.Encode(f, tr); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRealIsolation runs the whole isolation bench, one run of every
// strategy this kernel has, on a small scenario: HIGH climbs to 150 MB and
// two LOW to 120 MB each under a 450 MB limit, which holds every peak at
// once (static's share, 150 MB each, may not hold HIGH and its worker).
// It checks the results directory, not the numbers: every arm ran, every
// replay has a result, static's groups were held to their share, every
// daemon ran on its backend and restored its knobs, and no group is left
// behind.
func TestRealIsolation(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2)
	probe := (&kernel.Host{}).Probe()
	strategies, err := ParseStrategies("all", probe)
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Contains(strategies, StructOps); got != probe.MemcgOps.OK {
		t.Fatalf("strategies %v with memcg_bpf_ops %v", strategies, probe.MemcgOps.OK)
	}
	parent := testutil.ParentCgroup(t)
	fsys, err := cgroup.Open("")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sc := Scenario{Name: "test", TotalBytes: 450e6, Speed: 2,
		High: []string{writeTrace(t, dir, "high", 150e6, 20)}, Low: []string{writeTrace(t, dir, "low", 120e6, 20), writeTrace(t, dir, "low", 120e6, 20)}}
	out := filepath.Join(dir, "results")
	var progress []string
	// A variant runs the daemon on its own configuration beside the
	// strategies: the stock backend with a wider headroom.
	variant, err := ParseVariant("cgroupfs-wide", []byte("backend: cgroupfs\ndetector: {headroom: 25%}\nclasses:\n  - {name: high, priority: high}\n  - {name: low, priority: low}\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := Options{FS: fsys, Parent: strings.TrimPrefix(parent.Name(), "/") + "/bench", Out: out, Scenario: sc,
		Strategies: strategies, Variants: []Variant{variant}, Runs: 1, Seed: 7, ArmTimeout: 2 * time.Minute, Worker: workerForTest,
		Log:      slog.New(slog.NewTextHandler(testutil.LogWriter(t), nil)),
		Manifest: Manifest{Version: "test", Kernel: probe.Kernel},
		Progress: func(done, total int, a *Arm) { progress = append(progress, a.Name) },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := Isolation(ctx, o); err != nil {
		t.Fatal(err)
	}
	res, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	wantArms := len(strategies) + 1 + 2
	if res.Manifest.Finished == "" || len(res.Arms) != wantArms || len(progress) != wantArms {
		t.Fatalf("manifest %+v, %d arms, progress %v; want %d arms", res.Manifest, len(res.Arms), progress, wantArms)
	}
	for _, a := range res.Arms {
		checkArm(t, a, sc)
		checkKernelCounters(t, a, probe.PSI.OK)
	}
	if kids, err := fsys.Group(o.Parent).Children(); err != nil || len(kids) > 0 {
		t.Errorf("groups left below %s: %v (%v)", o.Parent, kids, err)
	}
}

// checkKernelCounters: every replay that ran its schedule has what the
// kernel counted for its group, with the memory stall where the kernel
// has PSI.
func checkKernelCounters(t *testing.T, a *LoadedArm, psi bool) {
	t.Helper()
	for name, r := range a.Replays {
		switch {
		case r.SamplesReplayed < 2:
		case r.Kernel == nil:
			t.Errorf("%s/%s: no kernel counters (%s)", a.Name, name, r.Error)
		case psi != (r.Kernel.Stall != nil):
			t.Errorf("%s/%s: memory stall %+v on a kernel with PSI %v", a.Name, name, r.Kernel.Stall, psi)
		case len(r.Kernel.Stat) == 0:
			t.Errorf("%s/%s: no memory.stat counters", a.Name, name)
		}
	}
}

func checkArm(t *testing.T, a *LoadedArm, sc Scenario) {
	t.Helper()
	if a.Error != "" {
		t.Errorf("arm %s: %s", a.Name, a.Error)
	}
	if len(a.Replays) != len(a.Members) || len(a.Timeline.Samples) == 0 {
		t.Errorf("arm %s: %d results for %d members, %d timeline samples", a.Name, len(a.Replays), len(a.Members), len(a.Timeline.Samples))
	}
	for _, m := range a.Members {
		if want := sc.TotalBytes / 3; a.Name == string(Static) && m.Limits[cgroup.MemoryMax] != want {
			t.Errorf("static: %s's recorded limits %v; want memory.max %d", m.Name, m.Limits, want)
		}
	}
	for name, r := range a.Replays {
		t.Logf("%s/%s: %s wall %.2fs peak %d", a.Name, name, r.Status, r.WallS, r.CgroupPeakBytes)
		if a.Name == string(Static) && r.CgroupPeakBytes > uint64(sc.TotalBytes/3) {
			t.Errorf("static: %s peaked at %d bytes, above its share %d", name, r.CgroupPeakBytes, sc.TotalBytes/3)
		}
		if a.Name != string(Static) && r.Status != replay.Completed {
			t.Errorf("%s/%s: %s; the limit holds every peak at once", a.Name, name, r.Status)
		}
	}
	daemon := Strategy(a.Name).RunsDaemon() || a.Name == "cgroupfs-wide"
	if daemon != (a.Daemon != nil) {
		t.Errorf("arm %s: daemon report %+v", a.Name, a.Daemon)
	}
	if a.Daemon != nil {
		b, _ := json.Marshal(a.Daemon)
		t.Logf("%s daemon: %s", a.Name, b)
		if !a.Daemon.Restored || a.Daemon.Error != "" {
			t.Errorf("arm %s: the daemon did not restore every knob: %s", a.Name, a.Daemon.Error)
		}
		want := "cgroupfs"
		if Strategy(a.Name).NeedsRFC() {
			want = "structops"
		}
		if !strings.HasPrefix(a.Daemon.Backend, want) {
			t.Errorf("arm %s ran on backend %q; want %s", a.Name, a.Daemon.Backend, want)
		}
	}
}

// TestRealPodmanIsolation runs a short scenario 1 with every session in a
// podman container (runtime podman): none and this kernel's default
// daemon strategy, one run. It checks that the results are complete, that
// each session ran in its container's group (CLASS/libpod-<id> below the
// arm's class group) and the timeline followed it there, that the daemon
// governed exactly the containers (not podman's conmon group), that it
// restored its knobs, and that no container or group is left.
func TestRealPodmanIsolation(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2)
	image := testutil.SandboxImage(t)
	probe := (&kernel.Host{}).Probe()
	strategy := CgroupFS
	if probe.MemcgOps.OK {
		strategy = StructOps
	}
	parent := testutil.ParentCgroup(t)
	fsys, err := cgroup.Open("")
	if err != nil {
		t.Fatal(err)
	}
	sc := Scenario{Name: "1", TotalBytes: 1100e6, Speed: 100, BaseBytes: 100e6,
		High: []string{"builtin:dask__dask-11628"}, Low: []string{"builtin:sigmavirus24__github3.py-673", "builtin:sigmavirus24__github3.py-673"}}
	out := filepath.Join(t.TempDir(), "results")
	o := Options{FS: fsys, Parent: strings.TrimPrefix(parent.Name(), "/") + "/bench", Out: out, Scenario: sc,
		Strategies: []Strategy{None, strategy}, Runs: 1, Seed: 3, ArmTimeout: 5 * time.Minute,
		Runtime: PodmanRuntime, Image: image,
		Log:      slog.New(slog.NewTextHandler(testutil.LogWriter(t), nil)),
		Manifest: Manifest{Version: "test", Kernel: probe.Kernel},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if err := Isolation(ctx, o); err != nil {
		t.Fatal(err)
	}
	res, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if m := res.Manifest; m.Runtime != PodmanRuntime || m.Image != image || m.Finished == "" || len(res.Arms) != 4 {
		t.Fatalf("manifest %+v with %d arms; want runtime podman, image %s, 4 arms", m, len(res.Arms), image)
	}
	for _, a := range res.Arms {
		checkPodmanArm(t, filepath.Join(out, RunsDir, fmt.Sprint(a.Run), a.Name), a, "/"+o.Parent)
	}
	if kids, err := fsys.Group(o.Parent).Children(); err != nil || len(kids) > 0 {
		t.Errorf("groups left below %s: %v (%v)", o.Parent, kids, err)
	}
	left, err := exec.Command("podman", "ps", "--all", "--quiet", "--filter", "name=memqos-bench-").CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(left))) > 0 {
		t.Errorf("containers left: %q (%v)", left, err)
	}
}

// checkPodmanArm checks one arm of TestRealPodmanIsolation.
func checkPodmanArm(t *testing.T, dir string, a *LoadedArm, parent string) {
	t.Helper()
	if a.Error != "" {
		t.Errorf("arm %s: %s", a.Name, a.Error)
	}
	if len(a.Replays) != len(a.Members) {
		t.Errorf("arm %s: %d results for %d members", a.Name, len(a.Replays), len(a.Members))
	}
	var cgroups []string
	for i, m := range a.Members {
		want := fmt.Sprintf("%s/r%d-%s/%s/libpod-%s", parent, a.Run, a.Name, m.Class, m.Container)
		if len(m.Container) != 64 || m.Cgroup != want {
			t.Errorf("%s/%s ran in %q, container %q; want %s", a.Name, m.Name, m.Cgroup, m.Container, want)
		}
		cgroups = append(cgroups, m.Cgroup)
		var peak uint64
		for _, row := range a.Timeline.Samples {
			peak = max(peak, row[i])
		}
		r := a.Replays[m.Name]
		if r != nil {
			t.Logf("%s/%s: %s wall %.2fs fidelity %.2f, cgroup peak %d, timeline peak %d", a.Name, m.Name, r.Status, r.WallS, r.Fidelity, r.CgroupPeakBytes, peak)
		}
		// The base alone is 100 MB: a timeline that missed the container's
		// group would read 0.
		if peak < 100e6 {
			t.Errorf("%s/%s: the timeline's peak is %d bytes; it did not follow the container", a.Name, m.Name, peak)
		}
		if r != nil && (a.Name == string(StructOps) || a.Name == string(CgroupFS)) && r.Status != replay.Completed {
			t.Errorf("%s/%s: %s; memqos keeps every session", a.Name, m.Name, r.Status)
		}
	}
	if !Strategy(a.Name).RunsDaemon() {
		if a.Daemon != nil {
			t.Errorf("arm %s: daemon report %+v", a.Name, a.Daemon)
		}
		return
	}
	if a.Daemon == nil || !a.Daemon.Restored || a.Daemon.Error != "" {
		t.Errorf("arm %s: daemon %+v; want its knobs restored", a.Name, a.Daemon)
	}
	added := daemonMembers(t, filepath.Join(dir, "daemon.log"))
	slices.Sort(added)
	slices.Sort(cgroups)
	if !slices.Equal(added, cgroups) {
		t.Errorf("arm %s: the daemon governed %q; want the containers %q", a.Name, added, cgroups)
	}
}

// daemonMembers returns the cgroups the daemon's log says it added as
// members.
func daemonMembers(t *testing.T, log string) []string {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e struct{ Msg, Event, Cgroup string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%s: %v", log, err)
		}
		if e.Msg == "member" && e.Event == "added" {
			out = append(out, e.Cgroup)
		}
	}
	return out
}
