package testutil

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Source means the source tree (go.mod, configs/) is at hand, as on the
// host; the guest tier has only test binaries.
const Source Feature = "source"

func probeSource() error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	_, err = os.Stat(filepath.Join(root, "configs"))
	return err
}

// SharedTraces means the 45 podman-stats traces are in
// ../shared/traces/agent-haiku beside the repository.
const SharedTraces Feature = "traces"

// SharedTraceFiles returns the shared traces, requiring SharedTraces.
func SharedTraceFiles(t testing.TB) []string {
	t.Helper()
	Require(t, SharedTraces)
	files, _ := sharedTraceFiles()
	return files
}

func sharedTraceFiles() ([]string, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(root, "..", "shared", "traces", "agent-haiku", "*.json"))
	if err == nil && len(files) == 0 {
		err = errors.New("no traces in ../shared/traces/agent-haiku")
	}
	return files, err
}

// Qemu means qemu-system-x86_64, a static busybox and e2fsprogs (for the
// guest's /out and scratch disks) are installed, and the test kernels in
// ../shared/kernels (or $MEMQOS_KERNELS) are present.
const Qemu Feature = "qemu"

func probeQemu() error {
	for _, bin := range []string{"qemu-system-x86_64", "mkfs.ext4", "debugfs", "e2fsck"} {
		if _, err := exec.LookPath(bin); err != nil {
			return err
		}
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		return fmt.Errorf("busybox-static: %w", err)
	}
	_, err := KernelDir()
	return err
}

// RepoRoot returns the directory holding the module's go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// KernelDir returns the directory of test kernels: $MEMQOS_KERNELS, or
// ../shared/kernels beside the repository.
func KernelDir() (string, error) {
	if d := os.Getenv("MEMQOS_KERNELS"); d != "" {
		return d, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	d := filepath.Join(root, "..", "shared", "kernels")
	if _, err := os.Stat(d); err != nil {
		return "", fmt.Errorf("test kernels: %w", err)
	}
	return filepath.Clean(d), nil
}

// Kernel returns the path of the test kernel file name (for example
// "memcg-v7.bzImage"), requiring Qemu.
func Kernel(t testing.TB, name string) string {
	t.Helper()
	Require(t, Qemu)
	dir, err := KernelDir()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test kernel: %v", err)
	}
	return p
}

// Rootfs means memqos vm run --rootfs debian works here: Qemu, and a
// Debian rootfs image that is cached or can be built (mmdebstrap and
// mkfs.ext4, as root).
const Rootfs Feature = "rootfs"

func probeRootfs() error {
	if err := probeQemu(); err != nil {
		return err
	}
	for _, bin := range []string{"mmdebstrap", "mkfs.ext4"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%w (apt install mmdebstrap e2fsprogs)", err)
		}
	}
	if os.Geteuid() != 0 {
		return errors.New("building the Debian rootfs needs root")
	}
	return nil
}
