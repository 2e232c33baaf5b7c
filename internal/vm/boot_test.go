package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/testutil"
)

// These tests boot real kernels under qemu (TCG); they need the Qemu
// feature. Each run is tagged with a unique kernel argument so that the
// test can check no qemu process of its own is left behind.

func bootConfig(t *testing.T, kernel string) (Config, string) {
	tag := fmt.Sprintf("memqos.test=%d", rand.Int64())
	return Config{Kernel: testutil.Kernel(t, kernel), Append: []string{tag}, Console: testWriter{t}, Timeout: 2 * time.Minute}, tag
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("guest: %s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}

func TestBootReturnsStatusAndOut(t *testing.T) {
	cfg, tag := bootConfig(t, "memcg-v7.bzImage")
	cfg.OutDir = t.TempDir()
	in := filepath.Join(t.TempDir(), "in.txt")
	os.WriteFile(in, []byte("from the host\n"), 0o644)
	cfg.Files = []File{{Host: in, Guest: "/work/in.txt"}}
	cfg.Env = []string{"GREETING=hello world"}
	var stdout bytes.Buffer
	cfg.Stdout = &stdout
	res, err := Run(context.Background(), cfg, []string{"sh", "-c",
		`cat /sys/fs/cgroup/cgroup.subtree_control > /out/ctl; mkdir /out/sub; cat in.txt > /out/sub/copy; echo "$GREETING" > /out/env; printf 'to stdout\n\0\r\n'; echo through /dev/stdout > /dev/stdout; echo to stderr >&2; exit 3`})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 {
		t.Errorf("exit code %d; want 3", res.ExitCode)
	}
	for name, want := range map[string]string{"ctl": "memory", "sub/copy": "from the host", "env": "hello world"} {
		b, err := os.ReadFile(filepath.Join(cfg.OutDir, name))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("out/%s = %q, %v; want it to contain %q", name, b, err, want)
		}
	}
	if got := stdout.String(); got != "to stdout\n\x00\r\nthrough /dev/stdout\n" {
		t.Errorf("stdout %q; want exactly the command's stdout, bytes unchanged", got)
	}
	testutil.AssertNoProcess(t, tag)
}

func TestBootTimeoutKillsQemu(t *testing.T) {
	cfg, tag := bootConfig(t, "memcg-v6.bzImage")
	cfg.Timeout = 10 * time.Second
	start := time.Now()
	_, err := Run(context.Background(), cfg, []string{"sleep", "1000"})
	var te *TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("got %v; want a TimeoutError", err)
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("Run took %v after a 10 s timeout", d)
	}
	testutil.AssertNoProcess(t, tag)
}

func TestBootCancelKillsQemu(t *testing.T) {
	cfg, tag := bootConfig(t, "memcg-v6.bzImage")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	_, err := Run(ctx, cfg, []string{"sleep", "1000"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v; want the context's error", err)
	}
	testutil.AssertNoProcess(t, tag)
}

func TestBootKernelPanic(t *testing.T) {
	cfg, tag := bootConfig(t, "memcg-v7.bzImage")
	_, err := Run(context.Background(), cfg, []string{"sh", "-c", "echo c > /proc/sysrq-trigger"})
	var pe *PanicError
	if !errors.As(err, &pe) || !strings.Contains(pe.Line, "sysrq") {
		t.Fatalf("got %v; want a PanicError naming sysrq", err)
	}
	testutil.AssertNoProcess(t, tag)
}

// checkPartialOut checks that dir holds the file a written by the guest,
// and a partial marker saying whether the last sync was confirmed.
func checkPartialOut(t *testing.T, dir string, files map[string]string, flushed bool) {
	t.Helper()
	for name, want := range files {
		if b, err := os.ReadFile(filepath.Join(dir, name)); string(b) != want {
			t.Errorf("out/%s = %q, %v; want %q", name, b, err, want)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, ".partial"))
	if err != nil {
		t.Fatalf("no partial marker: %v", err)
	}
	if got := !strings.Contains(string(b), "did not confirm"); got != flushed {
		t.Errorf("marker %q; want flushed=%v", b, flushed)
	}
}

func TestBootTimeoutKeepsOut(t *testing.T) {
	cfg, tag := bootConfig(t, "memcg-v7.bzImage")
	cfg.Timeout = 30 * time.Second
	cfg.OutDir = filepath.Join(t.TempDir(), "out")
	_, err := Run(context.Background(), cfg, []string{"sh", "-c",
		"echo done > /out/a; sync; mkdir /out/d; echo late > /out/d/b; sleep 1000"})
	var pe *PartialOutError
	if !errors.As(err, &pe) || !errors.As(err, new(*TimeoutError)) {
		t.Fatalf("got %v; want a timeout with a partial /out", err)
	}
	checkPartialOut(t, cfg.OutDir, map[string]string{"a": "done\n", "d/b": "late\n"}, true)
	testutil.AssertNoProcess(t, tag)
}

func TestBootPanicKeepsOut(t *testing.T) {
	cfg, tag := bootConfig(t, "memcg-v6.bzImage")
	cfg.OutDir = filepath.Join(t.TempDir(), "out")
	_, err := Run(context.Background(), cfg, []string{"sh", "-c",
		// No sync here: the guest syncs /out every outSyncPeriod seconds.
		fmt.Sprintf("echo done > /out/a; sleep %d; echo c > /proc/sysrq-trigger", 2*outSyncPeriod)})
	var pe *PartialOutError
	if !errors.As(err, &pe) || !errors.As(err, new(*PanicError)) {
		t.Fatalf("got %v; want a panic with a partial /out", err)
	}
	checkPartialOut(t, cfg.OutDir, map[string]string{"a": "done\n"}, false)
	testutil.AssertNoProcess(t, tag)
}

func TestBootBadKernels(t *testing.T) {
	testutil.Require(t, testutil.Qemu)
	_, err := Run(context.Background(), Config{Kernel: "/no/such/bzImage"}, []string{"true"})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "/no/such/bzImage") {
		t.Errorf("missing kernel: got %v", err)
	}
	notKernel := filepath.Join(t.TempDir(), "bzImage")
	os.WriteFile(notKernel, []byte("not a kernel"), 0o644)
	_, err = Run(context.Background(), Config{Kernel: notKernel, Timeout: time.Minute}, []string{"true"})
	if err == nil || !strings.Contains(err.Error(), "qemu") {
		t.Errorf("bad kernel: got %v; want a qemu error", err)
	}
}

// TestBootRootfs boots memcg-v7 from the Debian rootfs: the command's
// status, stdout, environment, puts (inside and outside /work) and /out
// work as in the initramfs, the rootfs's own tools come first on PATH,
// and what one boot writes to the rootfs is gone in the next.
func TestBootRootfs(t *testing.T) {
	testutil.Require(t, testutil.Rootfs)
	img, err := BuildRootfs(context.Background(), RootfsCacheDir(), Rootfs{Packages: RootfsPackages}, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	cfg, tag := bootConfig(t, "memcg-v7.bzImage")
	cfg.Rootfs = img
	cfg.OutDir = t.TempDir()
	in := filepath.Join(t.TempDir(), "in.txt")
	os.WriteFile(in, []byte("from the host\n"), 0o644)
	cfg.Files = []File{{Host: in, Guest: "/work/in.txt"}, {Host: in, Guest: "/usr/local/share/in.txt"}}
	cfg.Env = []string{"GREETING=hello world"}
	var stdout bytes.Buffer
	cfg.Stdout = &stdout
	script := `test -e /etc/memqos-leak && echo leaked > /out/leak
echo written > /etc/memqos-leak
cat /etc/debian_version > /out/debian
{ command -v podman; command -v ls; } > /out/paths
cat in.txt /usr/local/share/in.txt > /out/puts
echo "$GREETING" > /out/env
grep -q memory /sys/fs/cgroup/cgroup.subtree_control && echo yes > /out/memory
printf 'to stdout\n' > /dev/stdout
exit 3`
	for run := range 2 {
		stdout.Reset()
		res, err := Run(context.Background(), cfg, []string{"sh", "-c", script})
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if res.ExitCode != 3 {
			t.Errorf("run %d: exit code %d; want 3", run, res.ExitCode)
		}
		if got := stdout.String(); got != "to stdout\n" {
			t.Errorf("run %d: stdout %q", run, got)
		}
		for name, want := range map[string]string{
			"paths":  "/usr/bin/podman\n/usr/bin/ls\n", // Debian's ls, not busybox's
			"puts":   "from the host\nfrom the host\n",
			"env":    "hello world\n",
			"memory": "yes\n",
		} {
			if b, err := os.ReadFile(filepath.Join(cfg.OutDir, name)); err != nil || string(b) != want {
				t.Errorf("run %d: out/%s = %q, %v; want %q", run, name, b, err, want)
			}
		}
		if b, err := os.ReadFile(filepath.Join(cfg.OutDir, "debian")); err != nil || len(b) < 3 {
			t.Errorf("run %d: /etc/debian_version: %q, %v", run, b, err)
		}
		if _, err := os.Stat(filepath.Join(cfg.OutDir, "leak")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("run %d: a file written by the previous boot is in the rootfs (%v)", run, err)
		}
	}
	testutil.AssertNoProcess(t, tag)
}
