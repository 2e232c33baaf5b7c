package vm

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cavaliergopher/cpio"
	"github.com/memqos/memqos/internal/testutil"
)

func TestParseFile(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    File
		wantErr bool
	}{
		{in: "a/b.test", want: File{"a/b.test", "/work/b.test"}},
		{in: "x:/opt/y", want: File{"x", "/opt/y"}},
		{in: "x:/opt/../y/", want: File{"x", "/y"}},
		{in: "x:rel", wantErr: true},
		{in: ":/a", wantErr: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseFile(tc.in)
			if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
				t.Fatalf("ParseFile(%q) = %+v, %v; want %+v (error %v)", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// TestBuildCmdPassesArgsVerbatim runs the generated command script with the
// host's sh and checks that every argument arrives unchanged.
func TestBuildCmdPassesArgsVerbatim(t *testing.T) {
	dir := t.TempDir()
	argv := []string{"printf", `%s|`, "plain", "with space", `it's`, `"dq"`, "$HOME", "new\nline", "`x`", ""}
	script := filepath.Join(dir, "cmd")
	if err := os.WriteFile(script, []byte(buildCmd(dir, "", []string{"A=it's $x"}, argv)), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sh", script).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join(argv[2:], "|") + "|"
	if string(out) != want {
		t.Fatalf("got %q; want %q", out, want)
	}
	envScript := buildCmd(dir, "", []string{"A=it's $x", "B="}, []string{"sh", "-c", `printf '%s|%s' "$A" "${B-unset}"`})
	if err := os.WriteFile(script, []byte(envScript), 0o755); err != nil {
		t.Fatal(err)
	}
	env, err := exec.Command("sh", script).Output()
	if err != nil || string(env) != "it's $x|" {
		t.Fatalf("env: got %q, %v; want %q", env, err, "it's $x|")
	}
}

func TestConfigValidation(t *testing.T) {
	for name, c := range map[string]Config{
		"accel": {Accel: "hvf"},
		"tcg":   {TCG: "many"},
		"mem":   {MemoryMB: 64},
		"env":   {Env: []string{"1BAD=x"}},
		"envEq": {Env: []string{"NOEQUALS"}},
	} {
		d := c.withDefaults()
		if err := d.validate(); err == nil {
			t.Errorf("%s: %+v validated", name, c)
		}
	}
	ok := (&Config{Env: []string{"MEMQOS_X=a=b"}}).withDefaults()
	if err := ok.validate(); err != nil {
		t.Errorf("valid config rejected: %v", err)
	}
}

func TestKernelRelease(t *testing.T) {
	img := make([]byte, 0x400)
	copy(img[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(img[0x20e:], 0x100)
	copy(img[0x300:], "6.1.0-56-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP\x00")
	p := filepath.Join(t.TempDir(), "vmlinuz")
	if err := os.WriteFile(p, img, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := KernelRelease(p)
	if err != nil || got != "6.1.0-56-cloud-amd64" {
		t.Fatalf("KernelRelease = %q, %v", got, err)
	}
	// An unpacked kernel package: boot/vmlinuz-R and lib/modules/R/kernel.
	root := t.TempDir()
	k := filepath.Join(root, "boot", "vmlinuz-6.1.0-56-cloud-amd64")
	mods := filepath.Join(root, "lib", "modules", "6.1.0-56-cloud-amd64")
	os.MkdirAll(filepath.Dir(k), 0o755)
	os.MkdirAll(filepath.Join(mods, "kernel"), 0o755)
	os.WriteFile(k, img, 0o644)
	if got := FindModules(k); got != mods {
		t.Fatalf("FindModules = %q; want %q", got, mods)
	}
	if _, err := KernelRelease("/etc/hostname"); err == nil {
		t.Fatal("KernelRelease accepted a text file")
	}
}

// writeKO writes a minimal ELF relocatable file with a .modinfo section.
func writeKO(t *testing.T, path, modinfo string) {
	t.Helper()
	shstr := "\x00.modinfo\x00.shstrtab\x00"
	var b bytes.Buffer
	le := binary.LittleEndian
	ehdr := make([]byte, 64)
	copy(ehdr, "\x7fELF\x02\x01\x01")
	le.PutUint16(ehdr[16:], 1)  // ET_REL
	le.PutUint16(ehdr[18:], 62) // EM_X86_64
	le.PutUint32(ehdr[20:], 1)
	dataOff := 64
	strOff := dataOff + len(modinfo)
	shOff := strOff + len(shstr)
	le.PutUint64(ehdr[40:], uint64(shOff))
	le.PutUint16(ehdr[52:], 64)
	le.PutUint16(ehdr[58:], 64)
	le.PutUint16(ehdr[60:], 3)
	le.PutUint16(ehdr[62:], 2)
	b.Write(ehdr)
	b.WriteString(modinfo)
	b.WriteString(shstr)
	sh := func(name, typ uint32, off, size int) {
		s := make([]byte, 64)
		le.PutUint32(s[0:], name)
		le.PutUint32(s[4:], typ)
		le.PutUint64(s[24:], uint64(off))
		le.PutUint64(s[32:], uint64(size))
		le.PutUint64(s[48:], 1)
		b.Write(s)
	}
	sh(0, 0, 0, 0)
	sh(1, 1, dataOff, len(modinfo))
	sh(10, 3, strOff, len(shstr))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestModuleResolutionOrdersDependencies(t *testing.T) {
	dir := t.TempDir()
	k := filepath.Join(dir, "kernel", "drivers")
	writeKO(t, filepath.Join(k, "virtio_blk.ko"), "license=GPL\x00depends=virtio,virtio_ring\x00")
	writeKO(t, filepath.Join(k, "virtio_pci.ko"), "depends=virtio_ring,virtio_pci-modern-dev,virtio\x00")
	writeKO(t, filepath.Join(k, "virtio_pci_modern_dev.ko"), "depends=\x00")
	writeKO(t, filepath.Join(k, "virtio_ring.ko"), "depends=\x00")
	writeKO(t, filepath.Join(k, "virtio.ko"), "depends=\x00")
	writeKO(t, filepath.Join(k, "zram.ko"), "depends=zsmalloc\x00")
	os.WriteFile(filepath.Join(dir, "modules.builtin"), []byte("kernel/fs/ext4/ext4.ko\n"), 0o644)
	ms, err := loadModuleSet(dir)
	if err != nil {
		t.Fatal(err)
	}
	paths, err := ms.resolve([]string{"virtio_pci", "virtio_blk", "ext4"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, modName(p))
	}
	want := []string{"virtio_ring", "virtio_pci_modern_dev", "virtio", "virtio_pci", "virtio_blk"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("load order %v; want %v", names, want)
	}
	if _, err := ms.resolve([]string{"zram"}); err == nil || !strings.Contains(err.Error(), "zsmalloc") {
		t.Fatalf("missing dependency: got %v", err)
	}
}

func TestInitramfsCreatesParentsFirst(t *testing.T) {
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "d", "e"), 0o755)
	os.WriteFile(filepath.Join(src, "d", "e", "f"), []byte("data"), 0o600)
	var buf bytes.Buffer
	r := newInitramfs(&buf)
	if err := r.addTree("/work/pkg", src); err != nil {
		t.Fatal(err)
	}
	if err := r.addBytes("/init", 0o755, []byte("#!/bin/sh\n")); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{".": true}
	rd := cpio.NewReader(&buf)
	var files []string
	for {
		h, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !seen[filepath.Dir(h.Name)] {
			t.Errorf("%s comes before its directory", h.Name)
		}
		seen[h.Name] = true
		if h.Mode.IsRegular() {
			data, _ := io.ReadAll(rd)
			files = append(files, h.Name+"="+string(data)+"@"+h.Mode.Perm().String())
		}
	}
	want := []string{"work/pkg/d/e/f=data@0600", "init=#!/bin/sh\n@0755"}
	if !reflect.DeepEqual(files, want) {
		t.Fatalf("files %q; want %q", files, want)
	}
}

// mkfsFrom makes an ext4 image holding the tree src, as the guest's
// output disk would.
func mkfsFrom(t *testing.T, src string) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "out.img")
	if err := makeOutDisk(context.Background(), img, 16, src); err != nil {
		t.Fatal(err)
	}
	return img
}

func TestOutSeedMustBeADirectory(t *testing.T) {
	testutil.Require(t, testutil.Qemu)
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	for _, seed := range []string{file, filepath.Join(t.TempDir(), "missing")} {
		err := makeOutDisk(context.Background(), filepath.Join(t.TempDir(), "out.img"), 16, seed)
		if err == nil || !strings.Contains(err.Error(), "seed of the output disk") {
			t.Errorf("seed %s: got %v; want a seed error", seed, err)
		}
	}
}

func TestConsoleKeepsTheOopsBeforeThePanic(t *testing.T) {
	con := &console{statusRE: regexp.MustCompile(`^STATUS (\d+)`), errorTag: "ERR", flushedTag: "FLUSHED", flushed: make(chan struct{})}
	for _, l := range []string{
		"[   12.5] Oops: int3: 0000 [#1] SMP NOPTI",
		"[   12.6] Oops: general protection fault [#2] SMP",
		"[   12.7] Kernel panic - not syncing: Fatal exception in interrupt",
	} {
		con.line(l)
	}
	pe := &PanicError{Line: con.panic, Oops: con.oops}
	want := "guest kernel panic: Kernel panic - not syncing: Fatal exception in interrupt (after Oops: int3: 0000 [#1] SMP NOPTI)"
	if pe.Error() != want {
		t.Errorf("got %q; want %q", pe.Error(), want)
	}
}

func TestCopyOut(t *testing.T) {
	testutil.Require(t, testutil.Qemu)
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "sub", "deep"), 0o755)
	os.WriteFile(filepath.Join(src, "a"), []byte("done\n"), 0o644)
	os.WriteFile(filepath.Join(src, "sub", "deep", "b"), []byte("nested"), 0o600)
	os.WriteFile(filepath.Join(src, "run.sh"), []byte("#!/bin/sh\n"), 0o755)
	os.Symlink("/etc/passwd", filepath.Join(src, "link"))
	if err := exec.Command("mkfifo", filepath.Join(src, "fifo")).Run(); err != nil {
		t.Fatal(err)
	}
	img := mkfsFrom(t, src)
	for _, dirty := range []bool{false, true} {
		dst := filepath.Join(t.TempDir(), "new", "dir")
		if err := copyOut(context.Background(), img, dst, t.TempDir(), dirty); err != nil {
			t.Fatalf("dirty=%v: %v", dirty, err)
		}
		var got []string
		filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
			rel, _ := filepath.Rel(dst, p)
			info, _ := d.Info()
			got = append(got, fmt.Sprintf("%s %v", rel, info.Mode()))
			return nil
		})
		want := []string{". drwxr-xr-x", "a -rw-r--r--", "run.sh -rwxr-xr-x", "sub drwxr-xr-x", "sub/deep drwxr-xr-x", "sub/deep/b -rw-------"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("dirty=%v: copied %q; want %q (no link, fifo or lost+found)", dirty, got, want)
		}
		if b, _ := os.ReadFile(filepath.Join(dst, "sub", "deep", "b")); string(b) != "nested" {
			t.Errorf("dirty=%v: sub/deep/b = %q", dirty, b)
		}
	}
}

func TestCopyOutBadImage(t *testing.T) {
	testutil.Require(t, testutil.Qemu)
	img := filepath.Join(t.TempDir(), "out.img")
	os.WriteFile(img, make([]byte, 1<<20), 0o644)
	err := copyOut(context.Background(), img, t.TempDir(), t.TempDir(), false)
	if err == nil || !strings.Contains(err.Error(), "debugfs") {
		t.Errorf("got %v; want a debugfs error", err)
	}
}

func TestFinishOutMarksPartial(t *testing.T) {
	testutil.Require(t, testutil.Qemu)
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "a"), []byte("done\n"), 0o644)
	tmp := t.TempDir()
	img := mkfsFrom(t, src)
	os.Rename(img, filepath.Join(tmp, "out.img"))
	c := &Config{OutDir: t.TempDir()}
	marker := filepath.Join(c.OutDir, partialMarker)

	cause := &TimeoutError{Timeout: 20 * time.Second}
	err := finishOut(c, tmp, cause, false)
	var pe *PartialOutError
	if !errors.As(err, &pe) || !errors.As(err, new(*TimeoutError)) || !strings.Contains(err.Error(), "partial") {
		t.Fatalf("got %v; want a PartialOutError wrapping the timeout", err)
	}
	if b, err := os.ReadFile(marker); err != nil || !strings.Contains(string(b), "20s") || !strings.Contains(string(b), "did not confirm") {
		t.Errorf("marker %q, %v; want the reason and the missing last sync", b, err)
	}
	if b, _ := os.ReadFile(filepath.Join(c.OutDir, "a")); string(b) != "done\n" {
		t.Errorf("a = %q", b)
	}
	if err := finishOut(c, tmp, nil, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a complete run left the stale marker: %v", err)
	}
}

func TestCheckStatic(t *testing.T) {
	if err := CheckStatic("/bin/sh"); err == nil {
		t.Skip("this host's /bin/sh is static; nothing to compare") // never seen on Debian
	}
	if err := CheckStatic("/etc/hostname"); err == nil {
		t.Fatal("a text file passed as a static executable")
	}
}

func TestParseRootfs(t *testing.T) {
	r, err := ParseRootfs("debian")
	if err != nil || !slices.Equal(r.Packages, []string{"busybox-static", "catatonit", "conmon", "crun", "podman"}) {
		t.Errorf("debian: %+v, %v", r, err)
	}
	r, err = ParseRootfs("debian:strace,podman,htop")
	if err != nil || !slices.Contains(r.Packages, "strace") || !slices.Contains(r.Packages, "htop") || len(r.Packages) != 7 {
		t.Errorf("debian:strace,podman,htop: %+v, %v", r, err)
	}
	for _, bad := range []string{"", "ubuntu", "debian:", "debian:a b", "debian:Bad", "debian:x;rm"} {
		if _, err := ParseRootfs(bad); err == nil {
			t.Errorf("ParseRootfs(%q) succeeded", bad)
		}
	}
	// The cache key follows the package list and the sources.
	a, _ := ParseRootfs("debian")
	b, _ := ParseRootfs("debian:strace")
	if a.key("bookworm", []byte("s")) == b.key("bookworm", []byte("s")) || a.key("bookworm", []byte("s")) == a.key("bookworm", []byte("t")) || a.key("bookworm", []byte("s")) != a.key("bookworm", []byte("s")) {
		t.Error("rootfs cache keys do not follow packages and sources")
	}
}

func TestQemuArgsTCGThreading(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "tcg,thread=single"},
		{Config{TCG: TCGMulti}, "tcg,thread=multi"},
		{Config{Accel: "kvm", TCG: TCGMulti}, "kvm"},
	} {
		c := tc.cfg.withDefaults()
		args := qemuArgs(&c, "initrd")
		i := slices.Index(args, "-accel")
		if i < 0 || i+1 >= len(args) || args[i+1] != tc.want {
			t.Errorf("%+v: qemu args %q; want -accel %s", tc.cfg, args, tc.want)
		}
	}
}
