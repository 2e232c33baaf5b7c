package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/testutil"
)

func TestStatusOf(t *testing.T) {
	tests := []struct {
		script string
		want   Status
		name   string
	}{
		{"exit 0", Status{Code: 0}, ""},
		{"exit 7", Status{Code: 7}, ""},
		{"kill -TERM $$", Status{Code: 143, Signal: syscall.SIGTERM}, "SIGTERM"},
		{"kill -KILL $$", Status{Code: 137, Signal: syscall.SIGKILL}, "SIGKILL"},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			got := StatusOf(testutil.Exited(t, tt.script))
			if got != tt.want || got.SignalName() != tt.name {
				t.Errorf("StatusOf = %+v (%q); want %+v (%q)", got, got.SignalName(), tt.want, tt.name)
			}
		})
	}
	if got := StatusOf(nil); got.Code != -1 {
		t.Errorf("StatusOf(nil) = %+v; want code -1", got)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		argv []string
		code int
		msg  string
	}{
		{"found", []string{"sh", "-c", "true"}, 0, ""},
		{"no argv", nil, ExitNotFound, "no command given"},
		{"empty name", []string{""}, ExitNotFound, "no command given"},
		{"not in PATH", []string{"memqos-no-such-command"}, ExitNotFound, "command not found: memqos-no-such-command"},
		{"no such file", []string{dir + "/nope"}, ExitNotFound, "command not found: " + dir + "/nope"},
		{"below a file", []string{plain + "/x"}, ExitNotFound, "command not found: " + plain + "/x"},
		{"not executable", []string{plain}, ExitCannotExecute, "cannot execute " + plain + ": permission denied"},
		{"directory", []string{dir}, ExitCannotExecute, "cannot execute " + dir + ": is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.argv)
			var se *StartError
			switch {
			case tt.code == 0 && err != nil:
				t.Errorf("Check = %v; want nil", err)
			case tt.code != 0 && (!errors.As(err, &se) || se.Code != tt.code || err.Error() != tt.msg):
				t.Errorf("Check = %v; want code %d, %q", err, tt.code, tt.msg)
			}
		})
	}
}

func TestGroupName(t *testing.T) {
	pid := os.Getpid()
	if got, want := GroupName("replay"), fmt.Sprintf("memqos-replay-%d", pid); got != want {
		t.Errorf("GroupName = %q; want %q", got, want)
	}
	if got, want := GroupName("selftest", "over_high"), fmt.Sprintf("memqos-selftest-over_high-%d", pid); got != want {
		t.Errorf("GroupName = %q; want %q", got, want)
	}
}

// deadPid returns the pid of a process that has exited and been reaped.
func deadPid(t *testing.T) int {
	t.Helper()
	c := exec.Command("true")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	return c.Process.Pid
}

func TestStaleName(t *testing.T) {
	dead, live := deadPid(t), os.Getpid()
	tests := []struct {
		name string
		want bool
	}{
		{fmt.Sprintf("memqos-replay-%d", dead), true},
		{fmt.Sprintf("memqos-replay-%d", live), false},
		// pid 1 exists, and may belong to another user: EPERM is alive.
		{"memqos-replay-1", false},
		{fmt.Sprintf("memqos-record-%d", dead), false},
		{fmt.Sprintf("memqos-replayer-%d", dead), false},
		{"memqos-replay-x", false},
		{"memqos-replay-", false},
		{fmt.Sprintf("other-replay-%d", dead), false},
	}
	for _, tt := range tests {
		if got := staleName(tt.name, "replay"); got != tt.want {
			t.Errorf("staleName(%q, replay) = %v; want %v", tt.name, got, tt.want)
		}
	}
	if !staleName(fmt.Sprintf("memqos-selftest-over_high-%d", dead), "selftest") {
		t.Error("a selftest group with a test name is not stale")
	}
}

// TestRealRemoveStale creates groups named like those of live and dead
// memqos processes: CreateGroup removes only the dead one of its kind.
func TestRealRemoveStale(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2)
	fsys := &cgroup.FS{Root: cgroup.DefaultRoot}
	dead := deadPid(t)
	keep := map[string]bool{
		fmt.Sprintf("memqos-replay-%d", dead):           false,
		fmt.Sprintf("memqos-record-%d", dead):           true,
		fmt.Sprintf("memqos-replay-x-%d", os.Getppid()): true,
	}
	for name := range keep {
		g, err := fsys.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Remove(context.Background(), nil) })
	}
	g, err := CreateGroup(fsys, "replay", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := RemoveGroup(g); err != nil || g.Exists() {
		t.Errorf("RemoveGroup = %v; exists %v", err, g.Exists())
	}
	for name, want := range keep {
		if got := fsys.Group(name).Exists(); got != want {
			t.Errorf("%s exists = %v; want %v", name, got, want)
		}
	}
}

// TestRealStartErrors starts commands that cannot start inside a real
// group: each fails with a *StartError and its shell exit status.
func TestRealStartErrors(t *testing.T) {
	g := testutil.Cgroup(t)
	for _, argv := range [][]string{{""}, {"memqos-no-such-command"}, {t.TempDir()}} {
		c := exec.Command("true")
		c.Args = argv
		var se *StartError
		if err := Start(g, c); !errors.As(err, &se) || !strings.Contains(err.Error(), argv[0]) {
			t.Errorf("Start(%q) = %v; want a StartError naming it", argv, err)
		}
	}
	c := exec.Command("sh", "-c", "kill -TERM $$")
	st, err := Run(g, c)
	if err != nil || st.Code != 143 {
		t.Errorf("Run = %+v, %v; want 143", st, err)
	}
}

func TestSignalContext(t *testing.T) {
	ctx, stop := SignalContext(context.Background(), syscall.SIGUSR1)
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	<-ctx.Done()
	var se *SignalError
	if !errors.As(context.Cause(ctx), &se) || se.Signal != syscall.SIGUSR1 || se.ExitCode() != 128+10 || se.Error() != "user defined signal 1 signal received" {
		t.Errorf("cause %v; want SIGUSR1, exit code 138", context.Cause(ctx))
	}
}
