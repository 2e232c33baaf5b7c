package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTraceRecordFailsBeforeRunning checks that memqos's own failures end
// with 125 and a clear message before CMD runs.
func TestTraceRecordFailsBeforeRunning(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	script := []string{"--", "sh", "-c", "touch " + marker}
	tests := []struct {
		name   string
		flags  []string
		stderr string
	}{
		{"output directory missing", []string{"-o", filepath.Join(dir, "no/such/dir/t.json")},
			"memqos: output " + dir + "/no/such/dir/t.json: cannot create a file in " + dir + "/no/such/dir: no such file or directory\n"},
		{"output is a directory", []string{"-o", dir}, "memqos: output " + dir + ": is a directory\n"},
		{"not cgroup v2", []string{"-o", filepath.Join(dir, "t.json"), "--cgroup-root", dir},
			"memqos: " + dir + " is not a cgroup v2 hierarchy with the memory controller"},
		{"bad interval", []string{"-o", filepath.Join(dir, "t.json"), "--interval", "10us"},
			"memqos: --interval 10µs: must be at least 1ms\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"trace", "record"}, tt.flags...), script...)
			code, stdout, stderr := runCLI(args...)
			if code != exitMemqos || stdout != "" || !strings.HasPrefix(stderr, tt.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 125 and %q", code, stdout, stderr, tt.stderr)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Error("CMD ran")
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".t.json.*")); len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

func TestTraceRecordUsage(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		stderr string
		code   int
	}{
		{"no output", []string{"trace", "record", "--", "true"}, "memqos: required flag(s) \"output\" not set\n", exitMemqos},
		{"no command", []string{"trace", "record", "-o", filepath.Join(t.TempDir(), "x.json")}, "memqos: no command given\n", exitNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(tt.args...)
			if code != tt.code || stderr != tt.stderr {
				t.Errorf("exit %d, stderr %q; want %d, %q", code, stderr, tt.code, tt.stderr)
			}
		})
	}
}
