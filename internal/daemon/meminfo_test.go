package daemon

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMemTotal(t *testing.T) {
	for _, tc := range []struct {
		name, meminfo string
		want          uint64
	}{
		{"kB", "MemTotal:       16311264 kB\nMemFree:         1234567 kB\n", 16311264 << 10},
		{"not first", "MemFree:         1234567 kB\nMemTotal:       2048 kB\n", 2 << 20},
		{"missing", "MemFree:         1234567 kB\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proc := t.TempDir()
			if err := os.WriteFile(filepath.Join(proc, "meminfo"), []byte(tc.meminfo), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := memTotal(proc); got != tc.want {
				t.Errorf("memTotal = %d; want %d", got, tc.want)
			}
		})
	}
	if got := memTotal(filepath.Join(t.TempDir(), "none")); got != 0 {
		t.Errorf("memTotal of a missing proc = %d; want 0", got)
	}
	if got := memTotal("/proc"); got == 0 {
		t.Error("memTotal of /proc = 0")
	}
}
