package cgroup_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/testutil"
)

// The tests in this file need root and a real cgroup v2 hierarchy; they run
// for real in the guest suite.

var helpers = testutil.Helpers{
	// alloc MB: map and touch MB mebibytes of anonymous memory, then sleep.
	"alloc": func(args []string) int {
		mb, _ := strconv.Atoi(args[0])
		b, err := testutil.MapTouched(mb << 20)
		if err != nil {
			return 3
		}
		os.Stdout.WriteString("allocated\n")
		time.Sleep(time.Hour)
		runtime.KeepAlive(b)
		return 0
	},
	"sleep": func([]string) int { time.Sleep(time.Hour); return 0 },
	// write FILE VALUE: write VALUE to FILE, exit 13 on EACCES/EPERM.
	"write": func(args []string) int {
		err := os.WriteFile(args[0], []byte(args[1]), 0)
		if errors.Is(err, fs.ErrPermission) {
			return 13
		}
		if err != nil {
			return 1
		}
		return 0
	},
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestRealLimitsReadBack(t *testing.T) {
	g := testutil.Cgroup(t)
	for _, tc := range []struct {
		knob string
		v    cgroup.Limit
	}{
		{cgroup.MemoryMax, 256 << 20},
		{cgroup.MemoryHigh, 200 << 20},
		{cgroup.MemoryLow, 64 << 20},
		{cgroup.MemoryMin, 32 << 20},
		{cgroup.MemorySwapMax, 0},
		{cgroup.MemoryHigh, cgroup.Unlimited},
	} {
		if err := g.SetLimit(tc.knob, tc.v); err != nil {
			t.Fatal(err)
		}
		got, err := g.Limit(tc.knob)
		if err != nil || got != tc.v {
			t.Errorf("%s = %v, %v; want %v", tc.knob, got, err, tc.v)
		}
	}
	if _, err := g.MemoryStat(); err != nil {
		t.Error(err)
	}
	if _, err := g.MemoryPressure(); err != nil {
		t.Error(err)
	}
	id, err := g.ID()
	if err != nil || id == 0 {
		t.Errorf("ID = %d, %v", id, err)
	}
}

func TestRealStartInGroup(t *testing.T) {
	g := testutil.Cgroup(t)
	cmd := testutil.HelperCommand(t, "alloc", "16")
	out := &strings.Builder{}
	cmd.Stdout = out
	if err := g.Start(cmd); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	pids, err := g.Procs()
	if err != nil || !slices.Contains(pids, cmd.Process.Pid) {
		t.Fatalf("Procs = %v, %v; want %d inside", pids, err, cmd.Process.Pid)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cgroup")
	if err != nil || strings.TrimSpace(string(b)) != "0::"+g.Name() {
		t.Fatalf("/proc/PID/cgroup = %q, %v; want 0::%s", b, err, g.Name())
	}
	// The child's allocation is charged to g from its first page.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "allocated") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cur, err := g.MemoryCurrent()
	if err != nil || cur < 16<<20 {
		t.Errorf("memory.current = %d, %v; want ≥ 16 MiB", cur, err)
	}
	peak, err := g.MemoryPeak()
	if err != nil || peak < cur {
		t.Errorf("memory.peak = %d, %v; want ≥ current %d", peak, err, cur)
	}
}

func TestRealOOMKillIsCounted(t *testing.T) {
	g := testutil.Cgroup(t)
	if err := g.SetLimit(cgroup.MemoryMax, 32<<20); err != nil {
		t.Fatal(err)
	}
	if err := g.SetLimit(cgroup.MemorySwapMax, 0); err != nil && !errors.Is(err, cgroup.ErrControllerNotEnabled) {
		t.Fatal(err) // no swap controller on kernels without CONFIG_SWAP
	}
	cmd := testutil.HelperCommand(t, "alloc", "128")
	if err := g.Start(cmd); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("helper ended with %v; want an OOM kill", err)
	}
	if ws := exit.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("helper ended with %v; want SIGKILL", ws)
	}
	ev, err := g.MemoryEvents()
	if err != nil || ev.OOMKill < 1 || ev.Max < 1 {
		t.Fatalf("memory.events = %+v, %v; want oom_kill ≥ 1", ev, err)
	}
	local, err := g.MemoryEventsLocal()
	if err != nil || local.OOMKill < 1 {
		t.Fatalf("memory.events.local = %+v, %v", local, err)
	}
}

func TestRealFreezeThawKill(t *testing.T) {
	g := testutil.Cgroup(t)
	cmd := testutil.HelperCommand(t, "sleep")
	if err := g.Start(cmd); err != nil {
		t.Fatal(err)
	}
	if err := g.Freeze(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if _, frozen, err := g.Events(); err != nil || !frozen {
		t.Fatalf("after Freeze: frozen=%v, %v", frozen, err)
	}
	if err := g.Thaw(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := g.Kill(ctx(t)); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("after Kill: %v; want SIGKILL", err)
	}
	if err := g.WaitEmpty(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

func TestRealRemoveKillsAndRemovesSubtree(t *testing.T) {
	g := testutil.ParentCgroup(t)
	fsys := &cgroup.FS{Root: cgroup.DefaultRoot}
	leaf, err := fsys.Create(g.Name() + "/a/b")
	if err != nil {
		t.Fatal(err)
	}
	cmd := testutil.HelperCommand(t, "sleep")
	if err := leaf.Start(cmd); err != nil {
		t.Fatal(err)
	}
	a := g.Child("a")
	if err := a.Remove(ctx(t), nil); err != nil {
		t.Fatal(err)
	}
	if a.Exists() || leaf.Exists() {
		t.Fatal("subtree still exists after Remove")
	}
	cmd.Wait()
	if ws := cmd.ProcessState.Sys().(syscall.WaitStatus); ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the process left in the subtree ended with %v; want SIGKILL", ws)
	}
}

func TestRealRemoveMovesProcesses(t *testing.T) {
	g := testutil.ParentCgroup(t)
	fsys := &cgroup.FS{Root: cgroup.DefaultRoot}
	leaf, err := fsys.Create(g.Name() + "/leaf")
	if err != nil {
		t.Fatal(err)
	}
	keep, err := fsys.Create(g.Name() + "/keep")
	if err != nil {
		t.Fatal(err)
	}
	cmd := testutil.HelperCommand(t, "sleep")
	if err := leaf.Start(cmd); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if err := leaf.Remove(ctx(t), keep); err != nil {
		t.Fatal(err)
	}
	pids, err := keep.Procs()
	if err != nil || !slices.Contains(pids, cmd.Process.Pid) {
		t.Fatalf("keep has %v, %v; want pid %d moved there", pids, err, cmd.Process.Pid)
	}
}

func TestRealInternalProcessRule(t *testing.T) {
	g := testutil.Cgroup(t)
	cmd := testutil.HelperCommand(t, "sleep")
	if err := g.Start(cmd); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	err := g.EnableControllers("memory")
	if !errors.Is(err, cgroup.ErrInternalProcess) {
		t.Fatalf("EnableControllers on a group with a process = %v; want ErrInternalProcess", err)
	}
	if !strings.Contains(err.Error(), "cgroup.subtree_control") {
		t.Errorf("error %q does not name the file", err)
	}
}

func TestRealControllerNotEnabled(t *testing.T) {
	g := testutil.Cgroup(t)
	child, err := (&cgroup.FS{Root: cgroup.DefaultRoot}).Create(g.Name() + "/child")
	if err != nil {
		t.Fatal(err)
	}
	err = child.SetLimit(cgroup.MemoryMax, 1<<20)
	if !errors.Is(err, cgroup.ErrControllerNotEnabled) {
		t.Fatalf("memory.max without +memory in the parent = %v; want ErrControllerNotEnabled", err)
	}
	err = child.EnableControllers("memory")
	if !errors.Is(err, cgroup.ErrControllerNotEnabled) {
		t.Fatalf("+memory in a child whose parent lacks it = %v; want ErrControllerNotEnabled", err)
	}
}

func TestRealPermissionDenied(t *testing.T) {
	g := testutil.Cgroup(t)
	cmd := testutil.HelperCommand(t, "write", g.Path()+"/memory.max", "4096")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 13 {
		t.Fatalf("unprivileged write = %v; want permission denied (exit 13)", err)
	}
	if l, err := g.Limit(cgroup.MemoryMax); err != nil || l != cgroup.Unlimited {
		t.Fatalf("memory.max changed to %v, %v", l, err)
	}
}

// TestRealCreateEnabled creates a group two levels below a fresh one:
// every group on the way enables memory for its children, so the new
// group has memory control.
func TestRealCreateEnabled(t *testing.T) {
	g := testutil.Cgroup(t)
	fsys := &cgroup.FS{Root: cgroup.DefaultRoot}
	leaf, err := fsys.CreateEnabled(g.Path() + "/a/b")
	if err != nil {
		t.Fatal(err)
	}
	if leaf.Name() != g.Name()+"/a/b" {
		t.Errorf("created %s", leaf.Name())
	}
	if _, err := leaf.MemoryCurrent(); err != nil {
		t.Errorf("no memory control in the new group: %v", err)
	}
	for _, p := range []*cgroup.Group{g, g.Child("a")} {
		if ctrls, err := p.SubtreeControl(); err != nil || !slices.Contains(ctrls, "memory") {
			t.Errorf("%s enables %v for its children (%v); want memory", p.Name(), ctrls, err)
		}
	}
	if again, err := fsys.CreateEnabled(leaf.Name()); err != nil || again.Name() != leaf.Name() {
		t.Errorf("CreateEnabled of an existing group = %v, %v", again, err)
	}
}
