package thp

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestMode(t *testing.T) {
	for content, want := range map[string]string{
		"always [madvise] never\n": "madvise",
		"[always] madvise never\n": "always",
		"always madvise [never]\n": "never",
	} {
		root := t.TempDir()
		p := filepath.Join(root, "kernel/mm/transparent_hugepage/enabled")
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(content), 0o644)
		if got, err := Mode(root); err != nil || got != want {
			t.Errorf("Mode(%q) = %q, %v; want %q", content, got, err, want)
		}
	}
	if _, err := Mode(t.TempDir()); err == nil {
		t.Error("Mode of a tree without the file succeeded")
	}
}

// TestDisableIsInherited sets the flag in a child test process and checks
// that a grandchild started after it reports THP disabled in
// /proc/self/status.
func TestDisableIsInherited(t *testing.T) {
	if os.Getenv("THP_CHILD") == "1" {
		if err := DisableForProcess(); err != nil {
			t.Fatal(err)
		}
		if on, err := Disabled(); err != nil || !on {
			t.Fatalf("Disabled = %v, %v after DisableForProcess", on, err)
		}
		out, err := exec.Command("grep", "THP_enabled", "/proc/self/status").Output()
		if err != nil {
			t.Skipf("no THP_enabled in /proc/self/status: %v", err)
		}
		if !strings.Contains(string(out), "0") {
			t.Fatalf("grandchild status %q; want THP_enabled 0", out)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDisableIsInherited$", "-test.v")
	cmd.Env = append(os.Environ(), "THP_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "--- SKIP") {
		t.Skipf("child skipped:\n%s", out)
	}
	if on, _ := Disabled(); on {
		t.Fatal("the parent's THP was disabled too")
	}
}
