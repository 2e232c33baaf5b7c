package testutil

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// ScratchDir returns a fresh directory on a real disk, whose page cache can
// be reclaimed (unlike tmpfs or the initramfs with swap off), removed when
// t ends: below $MEMQOS_SCRATCH, or /scratch in the guest suite. It fails
// t if there is none.
func ScratchDir(t testing.TB) string {
	t.Helper()
	for _, d := range []string{os.Getenv("MEMQOS_SCRATCH"), "/scratch"} {
		var st unix.Statfs_t
		if d == "" || unix.Statfs(d, &st) != nil || st.Type == unix.TMPFS_MAGIC || st.Type == unix.RAMFS_MAGIC {
			continue
		}
		dir, err := os.MkdirTemp(d, "test-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		return dir
	}
	t.Fatal("no disk-backed scratch directory (set MEMQOS_SCRATCH, or run in a guest with --scratch-mib)")
	return ""
}
