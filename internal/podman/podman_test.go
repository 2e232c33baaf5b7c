package podman

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestImageLayer(t *testing.T) {
	dir := t.TempDir()
	memqos := filepath.Join(dir, "memqos")
	os.WriteFile(memqos, []byte("memqos binary"), 0o755)
	files := ImageFiles{Memqos: memqos}
	if _, err := os.Stat("/bin/busybox"); err == nil {
		files.Busybox = "/bin/busybox"
	}
	layer, err := imageLayer(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*tar.Header{}
	tr := tar.NewReader(bytes.NewReader(layer))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h
		if h.Name == "bin/memqos" {
			b, _ := io.ReadAll(tr)
			if string(b) != "memqos binary" {
				t.Errorf("bin/memqos holds %q", b)
			}
		}
	}
	for name, mode := range map[string]int64{"bin/": 0o755, "tmp/": 0o1777, "bin/memqos": 0o755, "etc/passwd": 0o644} {
		if h := got[name]; h == nil || h.Mode != mode {
			t.Errorf("%s: %+v; want mode %o", name, h, mode)
		}
	}
	if files.Busybox != "" {
		if h := got["bin/sh"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "busybox" {
			t.Errorf("bin/sh: %+v; want a link to busybox", h)
		}
	}
	if _, err := imageLayer(context.Background(), ImageFiles{Memqos: filepath.Join(dir, "absent")}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing binary: %v", err)
	}
}

func TestParseInspect(t *testing.T) {
	out, err := os.ReadFile("testdata/inspect-running.json")
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseInspect(out, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Running || c.Pid <= 0 || c.Name != "c1" || !strings.HasPrefix(c.Cgroup, "/agents/low/libpod-"+c.ID) {
		t.Errorf("parsed %+v", c)
	}
	for _, bad := range []string{"", "{}", "[]", "[{},{}]"} {
		if _, err := parseInspect([]byte(bad), "x"); err == nil {
			t.Errorf("parseInspect(%q) succeeded", bad)
		}
	}
}

func TestNoPodman(t *testing.T) {
	defer func(b string) { Binary = b }(Binary)
	Binary = "memqos-no-such-podman"
	if err := BuildImage(context.Background(), DefaultImage, ImageFiles{Memqos: "/bin/true"}); !errors.Is(err, ErrNoPodman) {
		t.Errorf("BuildImage without podman: %v; want ErrNoPodman", err)
	}
	if _, err := Inspect(context.Background(), "c1"); !errors.Is(err, ErrNoPodman) {
		t.Errorf("Inspect without podman: %v; want ErrNoPodman", err)
	}
}
