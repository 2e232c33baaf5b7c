package testutil

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// EnvBinary names the environment variable that gives the path of a
// memqos binary built from this tree; the guest suite sets it to the
// guest's /bin/memqos.
const EnvBinary = "MEMQOS_BINARY"

// buildDir holds the binary Memqos builds; Main removes it.
var buildDir string

// build compiles cmd/memqos once per test binary, statically, as
// scripts/setup does.
var build = sync.OnceValues(func() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	if buildDir, err = os.MkdirTemp("", "memqos-test-bin-"); err != nil {
		return "", err
	}
	bin := filepath.Join(buildDir, "memqos")
	cmd := exec.Command(goTool(), "build", "-o", bin, "./cmd/memqos")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/memqos: %w\n%s", err, out)
	}
	return bin, nil
})

// goTool is the go command: from PATH, or where scripts/setup installs Go.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

// Memqos returns the path of the real memqos binary: $MEMQOS_BINARY, or
// one built from this tree with go build.
func Memqos(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EnvBinary); p != "" {
		return p
	}
	bin, err := build()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// Run is how a memqos process ended.
type Run struct {
	Code           int
	Stdout, Stderr string
}

// RunMemqos runs the real memqos binary with args, without stdin, and
// returns its exit status and output.
func RunMemqos(t testing.TB, args ...string) Run {
	t.Helper()
	cmd := exec.Command(Memqos(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	r := Run{Code: cmd.ProcessState.ExitCode(), Stdout: stdout.String(), Stderr: stderr.String()}
	t.Logf("memqos %s: exit %d, stderr %q", strings.Join(args, " "), r.Code, r.Stderr)
	return r
}
