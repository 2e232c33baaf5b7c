package testutil

import (
	"bytes"
	"os"
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

// BuildMemqos returns a static memqos binary built from this tree, as
// scripts/setup builds it, for tests that run memqos in a qemu guest from
// the host. It is Memqos, whose binary is static too.
func BuildMemqos(t testing.TB) string {
	t.Helper()
	return Memqos(t)
}
