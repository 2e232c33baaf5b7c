package vm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestNodeToolsVersions(t *testing.T) {
	v, err := NodeToolsVersions()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"containerd", "runc", "crictl"} {
		if strings.Count(v[k], ".") != 2 {
			t.Errorf("%s version %q is not MAJOR.MINOR.PATCH", k, v[k])
		}
	}
}

// TestNodeToolsDirMatchesScript checks that scripts/node-tools and
// NodeToolsDir name the same directory (the script's --dir builds nothing).
func TestNodeToolsDirMatchesScript(t *testing.T) {
	script, err := filepath.Abs("../../scripts/node-tools")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(script); err != nil {
		t.Skipf("needs the source tree: %v", err)
	}
	cache := t.TempDir()
	t.Setenv("MEMQOS_CACHE", cache)
	dir, err := NodeToolsDir()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(dir, cache+string(os.PathSeparator)) {
		t.Fatalf("NodeToolsDir %s is not below MEMQOS_CACHE %s", dir, cache)
	}
	out, err := exec.Command(script, "--dir").Output()
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	if got := strings.TrimSpace(string(out)); got != dir {
		t.Errorf("scripts/node-tools printed %q, NodeToolsDir is %q", got, dir)
	}
}
