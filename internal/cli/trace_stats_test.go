package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memqos/memqos/internal/testutil"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = Main(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestTraceStatsGolden(t *testing.T) {
	builtins := []string{"builtin:dask__dask-11628", "builtin:sigmavirus24__github3.py-673"}
	tests := []struct {
		name, golden string
		flags        []string
	}{
		{"table", "trace_stats.golden", nil},
		{"json", "trace_stats_json.golden", []string{"--json"}},
		// Scenario 1: HIGH and two LOW sessions, +100 MB each, 1100 MB.
		{"together", "trace_stats_together.golden", []string{"--together", "--base-mb", "100", "--limit-mb", "1100", builtins[1]}},
		{"together json", "trace_stats_together_json.golden", []string{"--together", "--base-mb", "100", "--limit-mb", "1100", "--json", builtins[1]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"trace", "stats"}, tt.flags...), builtins...)
			code, stdout, stderr := runCLI(args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			testutil.Golden(t, filepath.Join("testdata", tt.golden), []byte(stdout))
		})
	}
}

func TestTraceStatsErrors(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"no trace", []string{"trace", "stats"}, "memqos: requires at least 1 arg(s), only received 0\n"},
		{"unknown builtin", []string{"trace", "stats", "builtin:nope"},
			`memqos: unknown builtin trace "nope" (have: dask__dask-11628, dask__dask-2205, pre-commit__pre-commit-2524, sigmavirus24__github3.py-673)` + "\n"},
		{"limit without together", []string{"trace", "stats", "--limit-mb", "1100", "builtin:dask__dask-11628"},
			"memqos: --base-mb and --limit-mb describe the traces together: give --together\n"},
		{"negative base", []string{"trace", "stats", "--together", "--base-mb", "-1", "builtin:dask__dask-11628"},
			"memqos: --base-mb and --limit-mb must be 0 or more\n"},
		{"missing file", []string{"trace", "stats", "testdata/no-such-trace.json"},
			"memqos: open testdata/no-such-trace.json: no such file or directory\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(tt.args...)
			if code != exitMemqos || stdout != "" || stderr != tt.stderr {
				t.Errorf("exit %d, stdout %q, stderr %q; want 125, \"\", %q", code, stdout, stderr, tt.stderr)
			}
		})
	}
}

func TestTraceStatsPodmanFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tiny.json")
	doc := `{"samples": [{"epoch": 10, "mem_usage": "100MB / 1GB"}, {"epoch": 11, "mem_usage": "300MB / 1GB"},
		{"epoch": 12, "mem_usage": "100MB / 1GB"}, {"epoch": 13, "mem_usage": "0B / 0B"}]}`
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI("trace", "stats", path)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	// Mean 166.7 MB, P95 = 100 + 0.9·200 (h = 1.9 between 100 and 300).
	want := "tiny  3  2.0s  166.7  280.0  300.0  1.80  1"
	if got := strings.Join(strings.Fields(strings.Split(stdout, "\n")[1]), "  "); got != want {
		t.Errorf("row = %q, want %q", got, want)
	}
}

// TestTraceStatsSharedTraces runs memqos trace stats over the 45 real
// traces in ../shared/traces: a table row for each, no error.
func TestTraceStatsSharedTraces(t *testing.T) {
	files := testutil.SharedTraceFiles(t)
	code, stdout, stderr := runCLI(append([]string{"trace", "stats"}, files...)...)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	rows := strings.Count(strings.TrimSpace(stdout), "\n") // minus the header
	if rows != len(files) || len(files) != 45 {
		t.Fatalf("%d rows for %d traces; want 45:\n%s", rows, len(files), stdout)
	}
}
