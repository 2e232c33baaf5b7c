package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/testutil"
	"github.com/memqos/memqos/internal/trace"
)

// The tests in this file run the real memqos binary on a real cgroup v2,
// as root: in the guest suite.

func realFS(t *testing.T) *cgroup.FS {
	t.Helper()
	testutil.Require(t, testutil.Root, testutil.CgroupV2)
	return &cgroup.FS{Root: cgroup.DefaultRoot}
}

// TestRealRunCLI runs commands in a group named by its full path and by
// its path below the mount, with their own flags, and checks the status.
func TestRealRunCLI(t *testing.T) {
	g := testutil.Cgroup(t)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
	}{
		{"full path", []string{"--cgroup", g.Path(), "sh", "-c", "cat /proc/self/cgroup; exit 7"}, 7, "0::" + g.Name() + "\n"},
		{"relative path", []string{"--cgroup", strings.TrimPrefix(g.Name(), "/"), "sh", "-c", "cat /proc/self/cgroup"}, 0, "0::" + g.Name() + "\n"},
		{"CMD's own flags", []string{"--cgroup", g.Name(), "ls", "-d", "-l", "/"}, 0, "/\n"},
		{"killed by a signal", []string{"--cgroup", g.Name(), "--", "sh", "-c", "kill -TERM $$"}, 143, ""},
		{"not found", []string{"--cgroup", g.Name(), "memqos-no-such-command"}, exitNotFound, ""},
		{"no such group", []string{"--cgroup", g.Name() + "/none", "true"}, exitMemqos, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testutil.RunMemqos(t, append([]string{"run"}, tt.args...)...)
			if r.Code != tt.code || !strings.HasSuffix(r.Stdout, tt.stdout) {
				t.Errorf("exit %d, stdout %q; want %d, %q", r.Code, r.Stdout, tt.code, tt.stdout)
			}
		})
	}
}

// TestRealRunCreate checks that run --create gives a nested group memory
// control, and refuses where cgroup v2 makes that impossible.
func TestRealRunCreate(t *testing.T) {
	fsys := realFS(t)
	p := testutil.Cgroup(t)
	r := testutil.RunMemqos(t, "run", "--create", "--cgroup", p.Path()+"/a/b", "cat", "/proc/self/cgroup")
	leaf := fsys.Group(p.Name() + "/a/b")
	if r.Code != 0 || r.Stdout != "0::"+leaf.Name()+"\n" {
		t.Errorf("exit %d, stdout %q; want 0 in %s", r.Code, r.Stdout, leaf.Name())
	}
	if _, err := leaf.MemoryCurrent(); err != nil {
		t.Errorf("the created group has no memory control: %v", err)
	}
	// A group without memory control is refused, naming it.
	bare, err := fsys.Create(p.Name() + "/bare/leaf")
	if err != nil {
		t.Fatal(err)
	}
	r = testutil.RunMemqos(t, "run", "--cgroup", bare.Name(), "true")
	if r.Code != exitMemqos || !strings.Contains(r.Stderr, bare.Path()+" has no memory control") {
		t.Errorf("exit %d, stderr %q; want 125 naming %s", r.Code, r.Stderr, bare.Path())
	}
	// A group holding a process cannot enable controllers for children.
	busy := testutil.Cgroup(t)
	sleep := exec.Command("sleep", "1000")
	if err := busy.Start(sleep); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sleep.Process.Kill()
		sleep.Wait()
	}()
	r = testutil.RunMemqos(t, "run", "--create", "--cgroup", busy.Name()+"/x", "true")
	if r.Code != exitMemqos || !strings.Contains(r.Stderr, "children of "+busy.Name()+":") {
		t.Errorf("exit %d, stderr %q; want 125 naming %s", r.Code, r.Stderr, busy.Name())
	}
}

// waitFile waits until path exists and holds something.
func waitFile(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if st, err := os.Stat(path); err == nil && st.Size() > 0 {
			return
		}
	}
	t.Fatalf("%s never appeared", path)
}

// waitPopulated waits until g exists and holds a process.
func waitPopulated(t *testing.T, g *cgroup.Group) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if populated, _, err := g.Events(); err == nil && populated {
			return
		}
	}
	t.Fatalf("%s never held a process", g.Name())
}

// checkCtrlC runs memqos with the arguments args gives for a shell script
// that counts the SIGINTs it gets, in a process group of its own as a
// terminal's foreground job. First it sends SIGINT to memqos alone: memqos
// must not forward it, since a terminal's Ctrl-C reaches the command
// directly, and forwarding delivers it twice. (Two SIGINTs that arrive
// together merge into one, so counting after a Ctrl-C alone could not
// tell.) Then it sends SIGINT to the process group, as the terminal does:
// the command gets it once and memqos outlives it. Last, SIGTERM to
// memqos alone must be forwarded.
func checkCtrlC(t *testing.T, args func(script string) []string) {
	dir := t.TempDir()
	ints, ready := filepath.Join(dir, "ints"), filepath.Join(dir, "ready")
	script := fmt.Sprintf("trap 'echo INT >> %s' INT; echo > %s; while :; do sleep 0.05; done", ints, ready)
	cmd := exec.Command(testutil.Memqos(t), args(script)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFile(t, ready)
	signal := func(pid int, sig syscall.Signal) {
		if err := syscall.Kill(pid, sig); err != nil {
			t.Fatal(err)
		}
	}
	signal(cmd.Process.Pid, syscall.SIGINT)
	// Not a timed assertion: a forwarded SIGINT comes within microseconds,
	// and this gives it time to show; it can only let a failure pass.
	time.Sleep(time.Second)
	if b, _ := os.ReadFile(ints); len(b) > 0 {
		t.Errorf("memqos forwarded a SIGINT sent to it alone")
	}
	signal(-cmd.Process.Pid, syscall.SIGINT)
	waitFile(t, ints)
	signal(cmd.Process.Pid, syscall.SIGTERM)
	cmd.Wait()
	b, _ := os.ReadFile(ints)
	if n := strings.Count(string(b), "INT"); n != 1 || cmd.ProcessState.ExitCode() != 143 {
		t.Errorf("the command got SIGINT %d times, memqos exited %d; want once, and 143 from the forwarded SIGTERM", n, cmd.ProcessState.ExitCode())
	}
}

func TestRealRunCtrlC(t *testing.T) {
	g := testutil.Cgroup(t)
	checkCtrlC(t, func(script string) []string { return []string{"run", "--cgroup", g.Name(), "sh", "-c", script} })
}

func TestRealTraceRecordCtrlC(t *testing.T) {
	realFS(t)
	out := filepath.Join(t.TempDir(), "t.json")
	checkCtrlC(t, func(script string) []string { return []string{"trace", "record", "-o", out, "sh", "-c", script} })
	if _, err := trace.Load(out); err != nil {
		t.Errorf("no trace after the command ended: %v", err)
	}
}

// TestRealTraceRecordOutput writes the trace to stdout with -o -, with
// -o /dev/stdout, and through a symlink of its own to /proc/self/fd/1, as
// /dev/stdout is, which must stay a symlink. /dev/stdout, /dev/stderr,
// /dev/stdin and /dev/fd must be the usual symlinks into /proc/self/fd,
// in a guest too: without them, -o /dev/stdout made a regular file there.
func TestRealTraceRecordOutput(t *testing.T) {
	realFS(t)
	for dev, want := range map[string]string{"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0", "/dev/stdout": "/proc/self/fd/1", "/dev/stderr": "/proc/self/fd/2"} {
		if got, err := os.Readlink(dev); err != nil || got != want {
			t.Errorf("%s links to %q (%v); want %s", dev, got, err, want)
		}
	}
	link := filepath.Join(t.TempDir(), "stdout")
	if err := os.Symlink("/proc/self/fd/1", link); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"-": "-", "dev-stdout": "/dev/stdout", "symlink": link} {
		t.Run(name, func(t *testing.T) {
			r := testutil.RunMemqos(t, "trace", "record", "-o", out, "sh", "-c", "echo from CMD >&2")
			if r.Code != 0 {
				t.Fatalf("exit %d", r.Code)
			}
			if _, err := trace.Decode(strings.NewReader(r.Stdout)); err != nil {
				t.Errorf("stdout is not a trace: %v\n%s", err, r.Stdout)
			}
		})
	}
	for _, l := range []string{link, "/dev/stdout"} {
		if st, err := os.Lstat(l); err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s was replaced: %v, %v", l, st.Mode(), err)
		}
	}
	r := testutil.RunMemqos(t, "trace", "record", "-o", "-", "echo", "from CMD")
	if _, err := trace.Decode(strings.NewReader(r.Stdout)); err != nil || !strings.Contains(r.Stderr, "from CMD") {
		t.Errorf("with -o -, stdout %q (%v) and stderr %q; want the trace alone on stdout, CMD's output on stderr", r.Stdout, err, r.Stderr)
	}
}

// TestRealStaleGroups SIGKILLs memqos trace record and replay while their
// groups exist, then runs each again: the second run removes the group
// the first left behind, and the process left in it.
func TestRealStaleGroups(t *testing.T) {
	fsys := realFS(t)
	dir := t.TempDir()
	tiny := writeFile(t, dir, "tiny.json", `{"format":"memqos-trace/1","name":"tiny","samples":[{"t_ms":0,"total":1000000},{"t_ms":100,"total":2000000}]}`)
	tests := []struct {
		kind       string
		long, next []string
	}{
		{"record", []string{"trace", "record", "-o", dir + "/1.json", "sleep", "1000"}, []string{"trace", "record", "-o", dir + "/2.json", "true"}},
		{"replay", []string{"trace", "replay", "builtin:dask__dask-11628", "--speed", "0.01", "-o", dir + "/1.json"},
			[]string{"trace", "replay", tiny, "--base-mb", "1", "-o", dir + "/2.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			cmd := exec.Command(testutil.Memqos(t), tt.long...)
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			g := fsys.Group(fmt.Sprintf("memqos-%s-%d", tt.kind, cmd.Process.Pid))
			t.Cleanup(func() { g.Remove(t.Context(), nil) })
			waitPopulated(t, g)
			cmd.Process.Kill()
			cmd.Wait()
			if !g.Exists() {
				t.Fatalf("SIGKILL left no group %s to clean up", g.Name())
			}
			if r := testutil.RunMemqos(t, tt.next...); r.Code != 0 {
				t.Errorf("the next %s exited %d", tt.kind, r.Code)
			}
			if g.Exists() {
				t.Errorf("the next %s left the stale group %s", tt.kind, g.Name())
			}
		})
	}
}

// TestRealTraceReplayCLI runs memqos trace replay under a memory.max
// below the trace's peak: memqos survives the worker's OOM kill, writes
// the result, and exits with 137.
func TestRealTraceReplayCLI(t *testing.T) {
	g := testutil.Cgroup(t)
	if err := g.SetLimit(cgroup.MemoryMax, 200_000_000); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "result.json")
	r := testutil.RunMemqos(t, "trace", "replay", "builtin:dask__dask-11628", "--cgroup", g.Path(), "-o", out)
	if r.Code != exitOOMKilled || !strings.Contains(r.Stdout, "OOM-killed") {
		t.Errorf("exit %d, stdout %q; want %d and a summary", r.Code, r.Stdout, exitOOMKilled)
	}
	var res struct {
		Status    string `json:"status"`
		OOMKilled bool   `json:"oom_killed"`
		Exit      struct{ Signal string }
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil || !res.OOMKilled || res.Status != "oom_killed" || res.Exit.Signal != "SIGKILL" {
		t.Errorf("result %+v, %v", res, err)
	}
}

// TestRealTraceRecordCLI records commands and checks the exit status and
// the trace file.
func TestRealTraceRecordCLI(t *testing.T) {
	realFS(t)
	tests := []struct {
		name   string
		script string
		code   int
	}{
		{"exit 0", "head -c 30000000 /dev/zero | tail -c 1 >/dev/null; sleep 0.3", 0},
		{"exit 3", "exit 3", 3},
		{"killed by SIGTERM", "kill -TERM $$", 128 + 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "t.json")
			r := testutil.RunMemqos(t, "trace", "record", "-o", out, "--interval", "50ms", "sh", "-c", tt.script)
			if r.Code != tt.code {
				t.Errorf("exit %d; want %d", r.Code, tt.code)
			}
			tr, err := trace.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			if tr.Name != "sh" || tr.Source != "memqos record: sh -c "+tt.script || tr.IntervalMS != 50 || len(tr.Samples) < 1 {
				t.Errorf("trace %q, source %q, interval %d, %d samples", tr.Name, tr.Source, tr.IntervalMS, len(tr.Samples))
			}
		})
	}
}

// TestRealTraceReplayInterrupted stops a replay with SIGINT and SIGTERM:
// memqos writes the result and exits with 128+N, as a shell reports a
// process signal N ended.
func TestRealTraceReplayInterrupted(t *testing.T) {
	fsys := realFS(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "r.json")
			cmd := exec.Command(testutil.Memqos(t), "trace", "replay", "builtin:dask__dask-11628", "--speed", "0.01", "-o", out)
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			waitPopulated(t, fsys.Group(fmt.Sprintf("memqos-replay-%d", cmd.Process.Pid)))
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			var res struct{ Status string }
			b, err := os.ReadFile(out)
			if err == nil {
				err = json.Unmarshal(b, &res)
			}
			if code := cmd.ProcessState.ExitCode(); code != 128+int(sig) || res.Status != "interrupted" {
				t.Errorf("exit %d, status %q (%v); want %d, interrupted", code, res.Status, err, 128+int(sig))
			}
		})
	}
}
