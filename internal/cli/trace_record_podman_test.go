package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memqos/memqos/internal/podman"
)

// fakePodman answers `podman container inspect --format json NAME` for
// the containers "running" and "exited", and as podman 4.3 does for any
// other name.
const fakePodman = `#!/bin/sh
case "$5" in
running) echo '[{"Id":"0123456789abcdef0123","Name":"running","State":{"Running":true,"Pid":42,"CgroupPath":"/agents/low/libpod-0123456789abcdef0123"}}]' ;;
exited) echo '[{"Id":"fedcba9876543210fedc","Name":"exited","State":{"Running":false,"Pid":0,"CgroupPath":""}}]' ;;
*) echo '[]'; echo "Error: no such container $5" >&2; exit 125 ;;
esac
`

// usePodman points podman.Binary at bin for the test.
func usePodman(t *testing.T, bin string) {
	old := podman.Binary
	podman.Binary = bin
	t.Cleanup(func() { podman.Binary = old })
}

// TestTraceRecordPodmanErrors checks that --podman fails with 125 and a
// clear message, writes no trace and leaves no temporary file, when it
// cannot record the container.
func TestTraceRecordPodmanErrors(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "podman")
	if err := os.WriteFile(fake, []byte(fakePodman), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "t.json")
	tests := []struct {
		name, podman string
		args         []string
		stderr       string
	}{
		{"podman missing", "memqos-test-no-such-podman", []string{"--podman", "running"},
			`memqos: --podman needs podman: "memqos-test-no-such-podman": executable file not found in $PATH` + "\n"},
		{"no such container", fake, []string{"--podman", "nosuch"}, `memqos: podman container "nosuch": no such container` + "\n"},
		{"not running", fake, []string{"--podman", "exited"}, "memqos: podman container exited (fedcba987654) is not running\n"},
		{"not cgroup v2", fake, []string{"--podman", "running", "--cgroup-root", dir},
			"memqos: " + dir + " is not a cgroup v2 hierarchy with the memory controller"},
		{"a command too", fake, []string{"--podman", "running", "--", "true"},
			`memqos: --podman records a running container: no CMD is run, got "true"` + "\n"},
		{"bad interval", fake, []string{"--podman", "running", "--interval", "10us"},
			"memqos: --interval 10µs: must be at least 1ms\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			usePodman(t, tt.podman)
			args := append([]string{"trace", "record", "-o", out}, tt.args...)
			code, stdout, stderr := runCLI(args...)
			if code != exitMemqos || stdout != "" || !strings.HasPrefix(stderr, tt.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 125 and %q", code, stdout, stderr, tt.stderr)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "*t.json*")); len(left) > 0 {
				t.Errorf("files left: %v", left)
			}
		})
	}
}
