package record

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/testutil"
	"github.com/memqos/memqos/internal/trace"
)

// watchTree is a fake hierarchy holding the group "g", populated.
func watchTree(t *testing.T) *cgroup.FS {
	files := cgroupFiles(true)
	files["g/cgroup.events"] = "populated 1\nfrozen 0\n"
	return &cgroup.FS{Root: testutil.FakeCgroupTree(t, files)}
}

// TestWatchEnds checks each way a watch ends: the group is removed, its
// last process exits, or ctx ends. The group is left as it was.
func TestWatchEnds(t *testing.T) {
	tests := []struct {
		name   string
		end    func(fsys *cgroup.FS, cancel context.CancelFunc) error
		exists bool
	}{
		{"group removed", func(fsys *cgroup.FS, _ context.CancelFunc) error {
			// A rename is atomic, as the kernel's rmdir is; deleting the
			// fake's files one by one could let a sample see half of them.
			return os.Rename(filepath.Join(fsys.Root, "g"), filepath.Join(fsys.Root, ".removed"))
		}, false},
		{"no process left", func(fsys *cgroup.FS, _ context.CancelFunc) error {
			// Atomic, as the kernel changes the file: the sampler reads it
			// meanwhile.
			return testutil.WriteCgroupFile(filepath.Join(fsys.Root, "g/cgroup.events"), "populated 0\nfrozen 0\n")
		}, true},
		{"canceled", func(_ *cgroup.FS, cancel context.CancelFunc) error { cancel(); return nil }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := watchTree(t)
			// The timeout ends a watch that misses its end.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			errc := make(chan error, 1)
			time.AfterFunc(250*time.Millisecond, func() { errc <- tt.end(fsys, cancel) })
			tr, err := Watch(ctx, WatchOptions{FS: fsys, Group: "g", Interval: 10 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			checkWatched(t, tr, tt.exists)
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				t.Error("the watch ran until the timeout")
			}
			if got := fsys.Group("g").Exists(); got != tt.exists {
				t.Errorf("group exists %v after the watch; want %v", got, tt.exists)
			}
		})
	}
}

// checkWatched checks a trace of the fake group "g" sampled every 10 ms
// for about 250 ms.
func checkWatched(t *testing.T, tr *trace.Trace, whole bool) {
	t.Helper()
	n := len(tr.Samples)
	if n < 5 || tr.Name != "g" || tr.Source != "memqos record: cgroup /g" || tr.IntervalMS != 10 {
		t.Errorf("%d samples, name %q, source %q, interval %d ms; want at least 5, g, memqos record: cgroup /g, 10",
			n, tr.Name, tr.Source, tr.IntervalMS)
	}
	// The first sample is taken with the group whole. So is the last,
	// unless the group went away: a removal can fall between the files of
	// one sample, whose later fields are then missing.
	check := []int{0}
	if whole {
		check = append(check, n-1)
	}
	for _, i := range check {
		if n > 0 && (tr.Samples[i].Total != 209715200 || tr.Samples[i].Pressure == nil) {
			t.Errorf("sample %d of %d: %s; want the fake group's values", i, n, show(tr.Samples[i]))
		}
	}
}

// TestWatchStopsOnEmptyGroup checks that a group with no process is
// sampled once, not until ctx ends.
func TestWatchStopsOnEmptyGroup(t *testing.T) {
	fsys := watchTree(t)
	if err := os.WriteFile(filepath.Join(fsys.Root, "g/cgroup.events"), []byte("populated 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr, err := Watch(ctx, WatchOptions{FS: fsys, Group: "g", Name: "n", Source: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Samples) != 1 || tr.Name != "n" || tr.Source != "s" || tr.IntervalMS != 100 || ctx.Err() != nil {
		t.Errorf("%d samples, name %q, source %q, interval %d, ctx %v; want 1, n, s, 100 before ctx ends",
			len(tr.Samples), tr.Name, tr.Source, tr.IntervalMS, ctx.Err())
	}
}

func TestWatchErrors(t *testing.T) {
	fsys := watchTree(t)
	tests := []struct {
		name string
		o    WatchOptions
		want error
	}{
		{"no FS", WatchOptions{Group: "g"}, nil},
		{"no group", WatchOptions{FS: fsys}, nil},
		{"tiny interval", WatchOptions{FS: fsys, Group: "g", Interval: time.Microsecond}, nil},
		{"missing group", WatchOptions{FS: fsys, Group: "no/such"}, fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Watch(context.Background(), tt.o)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("Watch = %v; want an error matching %v", err, tt.want)
			}
			if fsys.Group("no").Exists() {
				t.Error("Watch created a group")
			}
		})
	}
}
