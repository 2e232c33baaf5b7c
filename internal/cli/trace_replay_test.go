package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memqos/memqos/internal/testutil"
)

// TestMain runs the test helpers, and removes the memqos binary that
// testutil.Memqos builds.
func TestMain(m *testing.M) { testutil.Main(m, testutil.Helpers{"alloc": allocHelper}) }

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
