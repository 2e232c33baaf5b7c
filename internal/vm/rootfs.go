package vm

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
)

// RootfsPackages are the packages every Debian rootfs has on top of
// mmdebstrap's minbase variant: podman and its runtime, and a static
// busybox for the shell and tools of locally built container images.
var RootfsPackages = []string{"podman", "crun", "conmon", "catatonit", "busybox-static"}

// rootfsFormat is part of every rootfs cache key; bump it when the image
// layout or the files written into it change.
const rootfsFormat = "memqos-rootfs/1"

// rootfsSizeMB is the size of the rootfs file system: room for container
// images and layers beyond the ~300 MB the packages take. The image is
// sparse, and every boot writes to a throwaway overlay, never to it.
const rootfsSizeMB = 4096

// containersConf is /etc/containers/containers.conf in the rootfs. The
// guest has no systemd and no netfilter, so podman must manage cgroups
// itself and start containers without a network unless told otherwise.
const containersConf = `# written by memqos vm: the guest has no systemd and no netfilter
[containers]
netns = "none"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "crun"
`

// Rootfs names a Debian root file system for the guest: the host's own
// suite and apt sources, and a package list.
type Rootfs struct {
	// Packages are installed on top of minbase, RootfsPackages included.
	Packages []string
}

var pkgName = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)

// ParseRootfs parses "debian" or "debian:PKG,PKG,...", the second form
// adding packages to RootfsPackages.
func ParseRootfs(s string) (Rootfs, error) {
	kind, extra, more := strings.Cut(s, ":")
	if kind != "debian" || (more && extra == "") {
		return Rootfs{}, fmt.Errorf("rootfs %q: only \"debian\" or \"debian:PKG,PKG\" is supported", s)
	}
	pkgs := slices.Clone(RootfsPackages)
	if more {
		for _, p := range strings.Split(extra, ",") {
			if !pkgName.MatchString(p) {
				return Rootfs{}, fmt.Errorf("rootfs %q: %q is not a Debian package name", s, p)
			}
			pkgs = append(pkgs, p)
		}
	}
	slices.Sort(pkgs)
	return Rootfs{Packages: slices.Compact(pkgs)}, nil
}

// CacheDir is where memqos keeps what it fetches and builds:
// $MEMQOS_CACHE, or memqos in the user's cache directory.
func CacheDir() string {
	if base := os.Getenv("MEMQOS_CACHE"); base != "" {
		return base
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "memqos")
	}
	return filepath.Join(os.TempDir(), "memqos-cache")
}

// RootfsCacheDir is where built root file systems are kept.
func RootfsCacheDir() string { return filepath.Join(CacheDir(), "rootfs") }

// hostApt returns the host's suite (its VERSION_CODENAME) and the file that
// holds its apt sources.
func hostApt() (suite, sources string, err error) {
	f, err := os.Open("/etc/os-release")
	if err != nil {
		return "", "", fmt.Errorf("building a Debian rootfs needs a Debian host: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VERSION_CODENAME="); ok {
			suite = strings.Trim(v, `"`)
		}
	}
	if suite == "" {
		return "", "", errors.New("building a Debian rootfs: /etc/os-release has no VERSION_CODENAME")
	}
	for _, p := range []string{"/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"} {
		if st, err := os.Stat(p); err == nil && st.Size() > 0 {
			return suite, p, nil
		}
	}
	return "", "", errors.New("building a Debian rootfs: no apt sources in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list")
}

// key identifies an image: the same packages from the same sources give
// the same image.
func (r Rootfs) key(suite string, sources []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%s\n", rootfsFormat, suite, strings.Join(r.Packages, ","), containersConf)
	h.Write(sources)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// BuildRootfs returns the path of an ext4 image of r in dir, building it
// with mmdebstrap (root mode) and mkfs.ext4 -d when no image with the same
// packages and apt sources is cached there. Progress goes to log. Builds
// of the same image by concurrent callers wait for each other.
func BuildRootfs(ctx context.Context, dir string, r Rootfs, log io.Writer) (string, error) {
	suite, sourcesFile, err := hostApt()
	if err != nil {
		return "", err
	}
	sources, err := os.ReadFile(sourcesFile)
	if err != nil {
		return "", err
	}
	img := filepath.Join(dir, fmt.Sprintf("debian-%s-%s.ext4", suite, r.key(suite, sources)))
	if _, err := os.Stat(img); err == nil {
		return img, nil
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("building the Debian rootfs %s needs root (mmdebstrap's root mode and mkfs.ext4 -d keep file owners); run once as root, or set MEMQOS_CACHE to a cache that has it", filepath.Base(img))
	}
	for _, bin := range []string{"mmdebstrap", "mkfs.ext4"} {
		if _, err := exec.LookPath(bin); err != nil {
			return "", fmt.Errorf("building a Debian rootfs needs %s (apt install mmdebstrap e2fsprogs): %w", bin, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(img + ".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(img); err == nil {
		return img, nil // built while we waited
	}
	tmp, err := os.MkdirTemp(dir, ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	root := filepath.Join(tmp, "root")
	fmt.Fprintf(log, "memqos: building the Debian %s rootfs (%s) with mmdebstrap; it is cached in %s\n", suite, strings.Join(r.Packages, ","), dir)
	conf := filepath.Join(tmp, "containers.conf")
	if err := os.WriteFile(conf, []byte(containersConf), 0o644); err != nil {
		return "", err
	}
	args := []string{
		"--mode=root", "--variant=minbase", "--include=" + strings.Join(r.Packages, ","),
		"--customize-hook=mkdir -p \"$1/etc/containers\" && cp " + shellQuote(conf) + " \"$1/etc/containers/containers.conf\"",
		"--aptopt=Acquire::Languages \"none\"",
		suite, root, sourcesFile,
	}
	cmd := exec.CommandContext(ctx, "mmdebstrap", args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("mmdebstrap %s: %w\n%s", suite, err, tail(out.String(), 20))
	}
	part := filepath.Join(tmp, "rootfs.ext4")
	if err := makeExt4(ctx, part, rootfsSizeMB, "-d", root, "-L", "memqos-root"); err != nil {
		return "", err
	}
	if err := os.Chmod(part, 0o444); err != nil {
		return "", err
	}
	if err := os.Rename(part, img); err != nil {
		return "", err
	}
	return img, nil
}

// lockFile takes an exclusive lock on path, waiting for it.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
