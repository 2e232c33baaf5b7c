package vm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// DebianCloudPackage is the meta-package whose dependency is the current
// Debian cloud kernel.
const DebianCloudPackage = "linux-image-cloud-amd64"

// KernelCacheDir is where fetched kernels are kept: $MEMQOS_CACHE/kernels,
// or memqos/kernels in the user's cache directory.
func KernelCacheDir() string { return filepath.Join(CacheDir(), "kernels") }

// FetchDebianKernel makes sure an unpacked Debian cloud kernel is in dir
// and returns the path of its vmlinuz. It reuses one already there;
// otherwise it resolves the meta-package to the current kernel package,
// downloads it with apt-get download, and unpacks it with dpkg-deb -x, so
// that the modules sit at dir/lib/modules/RELEASE where FindModules looks.
func FetchDebianKernel(ctx context.Context, dir string) (string, error) {
	if k := findVmlinuz(dir); k != "" {
		return k, nil
	}
	pkg, err := debianKernelPackage(ctx)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	dl, err := os.MkdirTemp(dir, ".download-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dl)
	if err := run(ctx, dl, "apt-get", "download", pkg); err != nil {
		return "", err
	}
	debs, _ := filepath.Glob(filepath.Join(dl, "*.deb"))
	if len(debs) != 1 {
		return "", fmt.Errorf("apt-get download %s left %d .deb files in %s", pkg, len(debs), dl)
	}
	if err := run(ctx, dl, "dpkg-deb", "-x", debs[0], dir); err != nil {
		return "", err
	}
	if k := findVmlinuz(dir); k != "" {
		return k, nil
	}
	return "", fmt.Errorf("%s unpacked into %s but has no boot/vmlinuz-*", pkg, dir)
}

func findVmlinuz(dir string) string {
	m, _ := filepath.Glob(filepath.Join(dir, "boot", "vmlinuz-*"))
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1]
}

// debianKernelPackage returns the kernel package DebianCloudPackage depends on.
func debianKernelPackage(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "apt-cache", "depends", DebianCloudPackage).Output()
	if err != nil {
		return "", fmt.Errorf("apt-cache depends %s: %w (is this Debian, with apt lists updated?)", DebianCloudPackage, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if dep, ok := strings.CutPrefix(strings.TrimSpace(line), "Depends: "); ok && strings.HasPrefix(dep, "linux-image-") {
			return dep, nil
		}
	}
	return "", fmt.Errorf("apt-cache depends %s names no linux-image package", DebianCloudPackage)
}

func run(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
