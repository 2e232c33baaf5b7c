package testutil

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// AssertNoProcess fails t if a process still carries tag in its command
// line, such as a qemu that a test tagged with a unique kernel argument.
func AssertNoProcess(t testing.TB, tag string) {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(tag)) {
			t.Errorf("a process is left behind: %s: %q", p, bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
		}
	}
}

// BuildMemqos builds a static memqos binary, as scripts/setup does, and
// returns its path. It needs the Go toolchain, so tests that run memqos in
// a qemu guest from the host use it.
func BuildMemqos(t testing.TB) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "memqos")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/memqos")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build memqos: %v: %s", err, out)
	}
	return bin
}
