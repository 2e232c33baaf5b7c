package testutil

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
)

// Cgroup creates a fresh, empty cgroup v2 group for t below the root of
// /sys/fs/cgroup, with the memory controller available, and removes it
// (killing what is left inside) when t ends. It fails t if removal fails,
// so tests that leak processes or groups do not pass. It requires Root and
// CgroupV2.
func Cgroup(t testing.TB) *cgroup.Group {
	t.Helper()
	Require(t, Root, CgroupV2)
	fsys, err := cgroup.Open("")
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("memqos-test-%s-%d", sanitize(t.Name()), rand.IntN(1<<30))
	g, err := fsys.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := g.Remove(ctx, nil); err != nil {
			t.Errorf("remove test cgroup: %v", err)
		}
		if g.Exists() {
			t.Errorf("test cgroup %s still exists after removal", g.Path())
		}
	})
	return g
}

func sanitize(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' {
			return '_'
		}
		return r
	}, name)
}

// FakeCgroupTree writes files (path relative to the root → content) into a
// temporary directory and returns its path, for tests of code that reads
// cgroupfs without a real cgroup v2.
func FakeCgroupTree(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for rel, content := range files {
		if err := WriteCgroupFile(filepath.Join(root, rel), content); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// WriteCgroupFile writes content to the fake cgroup file p, creating its
// directory, as the kernel changes a cgroup file: all at once. It writes a
// temporary file and renames it into place, so that code reading p at the
// same moment (a daemon's loop, a sampler) sees the old content or the
// new, never an empty file between a truncate and a write. It returns an
// error rather than failing a test, so that any goroutine may call it.
func WriteCgroupFile(p, content string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".fake-*")
	if err != nil {
		return err
	}
	_, err = tmp.WriteString(content)
	err = errors.Join(err, tmp.Chmod(0o644), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// ParentCgroup is Cgroup with the memory controller enabled for the
// group's children, for tests that put workloads in child groups.
func ParentCgroup(t testing.TB) *cgroup.Group {
	t.Helper()
	g := Cgroup(t)
	if err := g.EnableControllers("memory"); err != nil {
		t.Fatal(err)
	}
	return g
}
