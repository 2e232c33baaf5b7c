package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/testutil"
	"github.com/memqos/memqos/internal/trace"
)

// TestMain lets real tests run memqos as a child process: the helper
// "memqos" runs Main, and since the environment variable that selects it
// is inherited, the replay worker that memqos re-executes runs Main too.
func TestMain(m *testing.M) {
	testutil.Main(m, testutil.Helpers{"memqos": func(args []string) int {
		return Main(context.Background(), args, os.Stdout, os.Stderr)
	}})
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTraceReplayErrors checks that bad arguments and traces fail with a
// clear message before anything runs.
func TestTraceReplayErrors(t *testing.T) {
	dir := t.TempDir()
	backwards := writeFile(t, dir, "backwards.json", `{"format":"memqos-trace/1","name":"b","samples":[{"t_ms":10,"total":1},{"t_ms":5,"total":2}]}`)
	empty := writeFile(t, dir, "empty.json", `{"format":"memqos-trace/1","name":"e","samples":[]}`)
	unknown := writeFile(t, dir, "unknown.json", `{"rows":[]}`)
	newer := writeFile(t, dir, "newer.json", `{"format":"memqos-trace/2","name":"n","samples":[]}`)
	dask := "builtin:dask__dask-11628"
	out := filepath.Join(dir, "r.json")
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"unknown builtin", []string{"builtin:nope"}, `memqos: unknown builtin trace "nope"`},
		{"time backwards", []string{backwards}, "memqos: trace " + backwards + ": sample 1: t_ms 5: time goes backwards: previous is 10\n"},
		{"empty", []string{empty}, "memqos: trace " + empty + ": no samples\n"},
		{"unknown format", []string{unknown}, "memqos: trace " + unknown + ": unknown trace format"},
		{"newer format", []string{newer}, "memqos: trace " + newer + `: unsupported trace format "memqos-trace/2"`},
		{"zero speed", []string{dask, "--speed", "0"}, "memqos: --speed 0: must be positive\n"},
		{"negative base", []string{dask, "--base-mb", "-1"}, "memqos: --base-mb -1: must be between 0 and 1e+09\n"},
		{"bad output", []string{dask, "-o", filepath.Join(dir, "no/r.json")}, "memqos: output " + dir + "/no/r.json: cannot create a file in"},
		{"not cgroup v2", []string{dask, "--cgroup-root", dir, "-o", out}, "memqos: " + dir + " is not a cgroup v2 hierarchy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(append([]string{"trace", "replay"}, tt.args...)...)
			if code != exitMemqos || stdout != "" || !strings.HasPrefix(stderr, tt.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d and %q", code, stdout, stderr, exitMemqos, tt.stderr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a result was written")
			}
		})
	}
}

func TestBaseBytesIsDecimal(t *testing.T) {
	tests := []struct {
		mb   float64
		want int64
	}{{100, 100_000_000}, {0, 0}, {0.5, 500_000}, {1.0000005, 1_000_001}}
	for _, tt := range tests {
		if got, err := baseBytes(tt.mb); err != nil || got != tt.want {
			t.Errorf("baseBytes(%v) = %d, %v; want %d", tt.mb, got, err, tt.want)
		}
	}
}

// memqosCommand runs memqos in a child process and returns its exit
// code and stdout.
func memqosCommand(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := testutil.HelperCommand(t, "memqos", args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	t.Logf("memqos %s: exit %d, stdout %q", strings.Join(args, " "), cmd.ProcessState.ExitCode(), out.String())
	return cmd.ProcessState.ExitCode(), out.String()
}

// TestRealTraceReplayCLI runs memqos trace replay under a memory.max
// below the trace's peak: memqos survives the worker's OOM kill, writes
// the result, and exits with 3.
func TestRealTraceReplayCLI(t *testing.T) {
	g := testutil.Cgroup(t)
	if err := g.SetLimit(cgroup.MemoryMax, 200_000_000); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "result.json")
	code, stdout := memqosCommand(t, "trace", "replay", "builtin:dask__dask-11628", "--cgroup", g.Name(), "-o", out)
	if code != exitOOMKilled || !strings.Contains(stdout, "OOM-killed") {
		t.Errorf("exit %d, stdout %q; want %d and a summary", code, stdout, exitOOMKilled)
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
	testutil.Require(t, testutil.Root, testutil.CgroupV2)
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
			code, _ := memqosCommand(t, "trace", "record", "-o", out, "--interval", "50ms", "--", "sh", "-c", tt.script)
			if code != tt.code {
				t.Errorf("exit %d; want %d", code, tt.code)
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
