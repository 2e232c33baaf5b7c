package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/podman"
	"github.com/memqos/memqos/internal/testutil"
	"github.com/memqos/memqos/internal/trace"
	"github.com/memqos/memqos/internal/trace/replay"
)

func TestParseRuntime(t *testing.T) {
	for in, want := range map[string]Runtime{"process": ProcessRuntime, "podman": PodmanRuntime} {
		if got, err := ParseRuntime(in); err != nil || got != want {
			t.Errorf("ParseRuntime(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "docker", "Podman"} {
		if _, err := ParseRuntime(bad); err == nil || !strings.Contains(err.Error(), "want process or podman") {
			t.Errorf("ParseRuntime(%q): %v", bad, err)
		}
	}
}

// TestRuntimeSelection: the process runtime is the default; the podman
// runtime needs an image and no worker.
func TestRuntimeSelection(t *testing.T) {
	fsys := &cgroup.FS{Root: t.TempDir()}
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		rt    Runtime
		image string
		want  string
	}{{"", "", "*bench.processRuntime"}, {ProcessRuntime, "", "*bench.processRuntime"}, {PodmanRuntime, "img", "*bench.podmanRuntime"}} {
		ar, err := newArmRunner(Options{FS: fsys, Runtime: tc.rt, Image: tc.image, Log: log}, Scenario{})
		if err != nil {
			t.Fatalf("runtime %q: %v", tc.rt, err)
		}
		if got := fmt.Sprintf("%T", ar.rt); got != tc.want {
			t.Errorf("runtime %q runs sessions with %s; want %s", tc.rt, got, tc.want)
		}
		if err := ar.rt.close(); err != nil {
			t.Error(err)
		}
	}
	if _, err := newArmRunner(Options{FS: fsys, Runtime: "docker"}, Scenario{}); err == nil {
		t.Error("unknown runtime accepted")
	}
	base := Options{FS: fsys, Out: filepath.Join(t.TempDir(), "r"), Runs: 1, Strategies: []Strategy{None},
		Scenario: Scenario{Speed: 1}, ArmTimeout: time.Second}
	o := base
	o.Runtime = PodmanRuntime
	if err := o.check(); err == nil || !strings.Contains(err.Error(), "sandbox image") {
		t.Errorf("podman without an image: %v", err)
	}
	o.Image = "img"
	if err := o.check(); err != nil {
		t.Errorf("podman needs no worker: %v", err)
	}
	if err := base.check(); err == nil || !strings.Contains(err.Error(), "worker") {
		t.Errorf("process without a worker: %v", err)
	}
}

// TestContainerCommand checks the container a session runs in: below its
// class group, the arm's directory at /out, its trace read-only, replaying
// as the process runtime does.
func TestContainerCommand(t *testing.T) {
	fsys := &cgroup.FS{Root: t.TempDir()}
	r := &podmanRuntime{fsys: fsys, image: "localhost/memqos-sandbox", prefix: "memqos-bench-42"}
	sp := replaySpec{speed: 10, base: 100e6, noTHP: true, dir: "/res/runs/1/none", result: "high-0.json"}
	o := r.createOptions(fsys.Group("memqos-bench/r1-none/high"), "high-0", "/tmp/t/high-0.json", sp)
	args, err := o.CreateArgs()
	if err != nil {
		t.Fatal(err)
	}
	want := "create --name memqos-bench-42-1-high-0 --network none --cgroup-parent /memqos-bench/r1-none/high " +
		"--volume /res/runs/1/none:/out --volume /tmp/t/high-0.json:/trace.json:ro localhost/memqos-sandbox " +
		"memqos trace replay /trace.json --speed 10 --base-mb 100 --cgroup self -o /out/high-0.json --no-thp"
	if got := strings.Join(args, " "); got != want {
		t.Errorf("podman\n%s\nwant\n%s", got, want)
	}
	sp.noTHP, sp.speed, sp.base = false, 1e6, 1_500_000
	got := strings.Join(replayCommand(sp), " ")
	if want := "memqos trace replay /trace.json --speed 1e+06 --base-mb 1.5 --cgroup self -o /out/high-0.json"; got != want {
		t.Errorf("replay\n%s\nwant\n%s", got, want)
	}
	if o2 := r.createOptions(fsys.Group("x/high"), "high-0", "/t", sp); o2.Name == o.Name {
		t.Errorf("two containers named %s", o.Name)
	}
}

func TestCreateArgsRejects(t *testing.T) {
	ok := podman.CreateOptions{Name: "n", Image: "i", Command: []string{"c"}}
	for _, tc := range []struct {
		edit func(*podman.CreateOptions)
		want string
	}{
		{func(o *podman.CreateOptions) { o.Name = "" }, "needs a name"},
		{func(o *podman.CreateOptions) { o.Command = nil }, "needs a name"},
		{func(o *podman.CreateOptions) { o.CgroupParent = "a/b" }, "starting with /"},
		{func(o *podman.CreateOptions) { o.Mounts = []podman.Mount{{Host: "/a:b", Container: "/c"}} }, "':'"},
	} {
		o := ok
		tc.edit(&o)
		if _, err := o.CreateArgs(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v; want %q", o, err, tc.want)
		}
	}
	if _, err := ok.CreateArgs(); err != nil {
		t.Error(err)
	}
}

// fakePodman is a podman that does what the bench asks of it, in a fake
// cgroup tree: init creates the container's group, start writes a replay
// result into the bound /out, and every call is logged.
const fakePodman = `#!/bin/sh
echo "$*" >> "$FAKE_PODMAN_LOG"
case "$1" in
create)
	while [ "$1" != "--cgroup-parent" ]; do shift; done
	echo "$2" > "$FAKE_PODMAN_DIR/parent"
	while [ "$1" != "--volume" ]; do shift; done
	echo "${2%%:*}" > "$FAKE_PODMAN_DIR/out"
	echo "$FAKE_PODMAN_ID" ;;
init) mkdir -p "$FAKE_CGROUP$(cat "$FAKE_PODMAN_DIR/parent")/libpod-$2" ;;
container) echo '[{"Id":"'"$FAKE_PODMAN_ID"'","Name":"c","State":{"Running":false,"Pid":0,"CgroupPath":""}}]' ;;
start)
	echo "replaying"
	[ -n "$FAKE_PODMAN_NORESULT" ] && exit 125
	echo '{"format":"memqos-replay-result/1","status":"completed","wall_s":1.5}' > "$(cat "$FAKE_PODMAN_DIR/out")/high-0.json" ;;
rm) shift $(($# - 1)); rmdir "$FAKE_CGROUP$(cat "$FAKE_PODMAN_DIR/parent")/libpod-$1" ;;
esac
`

// TestPodmanSession runs a session through the podman runtime with a fake
// podman: the container's group is found below the class group, the result
// is the one the container wrote, and the container is removed.
func TestPodmanSession(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "podman")
	if err := os.WriteFile(bin, []byte(fakePodman), 0o755); err != nil {
		t.Fatal(err)
	}
	defer func(b string) { podman.Binary = b }(podman.Binary)
	podman.Binary = bin
	cg := testutil.FakeCgroupTree(t, map[string]string{"b/r1-none/high/cgroup.procs": ""})
	logFile := filepath.Join(dir, "calls")
	t.Setenv("FAKE_PODMAN_LOG", logFile)
	t.Setenv("FAKE_PODMAN_DIR", dir)
	t.Setenv("FAKE_PODMAN_ID", "abc123")
	t.Setenv("FAKE_CGROUP", cg)
	fsys := &cgroup.FS{Root: cg}
	rt, err := newPodmanRuntime(fsys, "img", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	tr := &trace.Trace{Name: "t", Samples: []trace.Sample{{TimeMS: 0, Total: 1e6}}}
	sp := replaySpec{tr: tr, speed: 10, base: 0, dir: out, result: "high-0.json"}
	ctx := context.Background()
	ps, err := rt.prepare(ctx, fsys.Group("b/r1-none/high"), "high-0", sp)
	if err != nil {
		t.Fatal(err)
	}
	if g := ps.group().Name(); g != "/b/r1-none/high/libpod-abc123" || ps.container() != "abc123" {
		t.Errorf("session in %s, container %q; want /b/r1-none/high/libpod-abc123, abc123", g, ps.container())
	}
	res, err := ps.run(ctx)
	if err != nil || res == nil || res.Status != replay.Completed || res.WallS != 1.5 {
		t.Fatalf("result %+v, %v; want the container's", res, err)
	}
	if err := ps.release(); err != nil {
		t.Error(err)
	}
	t.Setenv("FAKE_PODMAN_NORESULT", "1")
	os.Remove(filepath.Join(out, "high-0.json"))
	ps, err = rt.prepare(ctx, fsys.Group("b/r1-none/high"), "high-0", sp)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := ps.run(ctx); res != nil || err == nil || !strings.Contains(err.Error(), "status 125 and no result") || !strings.Contains(err.Error(), "replaying") {
		t.Errorf("a container that wrote no result: %+v, %v", res, err)
	}
	ps.release()
	b, _ := os.ReadFile(logFile)
	calls := strings.Split(strings.TrimSpace(string(b)), "\n")
	var verbs []string
	for _, c := range calls {
		verbs = append(verbs, strings.Fields(c)[0])
	}
	if want := []string{"create", "init", "container", "start", "rm"}; !slices.Equal(verbs[:5], want) {
		t.Errorf("podman calls %q; want %q", verbs, want)
	}
	traces, _ := filepath.Glob(filepath.Join(rt.traces, "*"))
	if err := rt.close(); err != nil || len(traces) != 2 {
		t.Errorf("trace files %v, close %v", traces, err)
	}
	if _, err := os.Stat(rt.traces); !os.IsNotExist(err) {
		t.Errorf("trace directory left: %v", err)
	}
}

// TestRestored checks the check of the daemon's promise: existing session
// groups must have the strategy's knobs, a group gone with its container
// has none, and the state file must list no knob left changed.
func TestRestored(t *testing.T) {
	cg := testutil.FakeCgroupTree(t, map[string]string{
		"a/high/h/memory.high": "max", "a/high/h/memory.low": "0", "a/high/h/memory.min": "0",
		"a/low/l/memory.high": "419430400", "a/low/l/memory.low": "0", "a/low/l/memory.min": "0",
	})
	fsys := &cgroup.FS{Root: cg}
	p := armPlan{sessions: []*session{
		{Member: Member{Name: "h"}},
		{Member: Member{Name: "l"}, limits: map[string]cgroup.Limit{cgroup.MemoryHigh: referenceLowHigh}},
		{Member: Member{Name: "gone"}},
	}}
	groups := []*cgroup.Group{fsys.Group("a/high/h"), fsys.Group("a/low/l"), fsys.Group("a/low/libpod-gone")}
	state := filepath.Join(t.TempDir(), "state.json")
	if err := restored(groups, p, state); err != nil {
		t.Errorf("restored knobs, no state file: %v", err)
	}
	if err := os.WriteFile(state, []byte(`{"format":"memqos-state/1","pid":1,"entries":[{"cgroup":"/a/low/l","file":"memory.high","original":"max"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := restored(groups, p, state); err == nil || !strings.Contains(err.Error(), "still lists /a/low/l memory.high") {
		t.Errorf("a knob left in the state file: %v", err)
	}
	os.Remove(state)
	os.WriteFile(filepath.Join(cg, "a/high/h/memory.low"), []byte("1000"), 0o644)
	if err := restored(groups, p, state); err == nil || !strings.Contains(err.Error(), "memory.low") {
		t.Errorf("a protection left on HIGH: %v", err)
	}
}
