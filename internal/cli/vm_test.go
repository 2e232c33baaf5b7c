package cli

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/testutil"
)

// TestVMRunSIGTERMKeepsOut stops memqos vm run with SIGTERM while the guest
// command runs, and checks that what the guest had written to /out is in
// --out, marked partial, with exit status 125 and no qemu left behind.
func TestVMRunSIGTERMKeepsOut(t *testing.T) {
	testutil.Require(t, testutil.Qemu)
	bin := testutil.BuildMemqos(t)
	out := filepath.Join(t.TempDir(), "out")
	tag := fmt.Sprintf("memqos.test=%d", rand.Int64())
	cmd := exec.Command(bin, "vm", "run", "-q", "--kernel", testutil.Kernel(t, "memcg-v7.bzImage"),
		"--append", tag, "--out", out, "--timeout", "5m", "--",
		"sh", "-c", "echo done > /out/a; echo ready; sleep 1000")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("guest stdout %q, %v; stderr: %s", line, err, stderr.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("memqos did not stop within 2 minutes of SIGTERM")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitMemqos {
		t.Errorf("memqos ended with %v; want exit status %d", err, exitMemqos)
	}
	if !strings.Contains(stderr.String(), "/out is partial") {
		t.Errorf("stderr does not say /out is partial: %q", stderr.String())
	}
	if b, err := os.ReadFile(filepath.Join(out, "a")); string(b) != "done\n" {
		t.Errorf("out/a = %q, %v; want done", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(out, ".partial")); err != nil || !strings.Contains(string(b), "signal") {
		t.Errorf("partial marker %q, %v; want it to name the signal", b, err)
	}
	testutil.AssertNoProcess(t, tag)
}

// TestVMRunRootfsPodman runs a container in a Debian rootfs guest, as the
// README shows: memqos vm run passes on the container's exit status, 0
// for true and a failing container's own status.
func TestVMRunRootfsPodman(t *testing.T) {
	testutil.Require(t, testutil.Rootfs)
	bin := testutil.BuildMemqos(t)
	for _, tc := range []struct {
		cmd  string
		want int
	}{{"true", 0}, {"sh -c 'exit 3'", 3}} {
		tag := fmt.Sprintf("memqos.test=%d", rand.Int64())
		cmd := exec.Command(bin, "vm", "run", "-q", "--kernel", testutil.Kernel(t, "memcg-v7.bzImage"), "--rootfs", "debian",
			"--append", tag, "--timeout", "5m", "--",
			"sh", "-c", "memqos podman image >/dev/null && podman run --rm --network none localhost/memqos-sandbox "+tc.cmd)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.want {
			t.Errorf("container %s: memqos vm run exited %d; want %d\n%s", tc.cmd, code, tc.want, stderr.String())
		}
		testutil.AssertNoProcess(t, tag)
	}
}
