package replay

import (
	"context"
	"errors"
	"io/fs"
	"os/exec"
	"testing"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/testutil"
	"github.com/memqos/memqos/internal/trace"
)

// TestRunErrors checks that bad options, traces and groups fail before
// anything runs: the command builder must never be called. The options
// are otherwise good, down to a fake group with the files Run reads before
// it starts the worker, so each case fails only by its own check.
func TestRunErrors(t *testing.T) {
	good := &trace.Trace{Name: "x", Samples: []trace.Sample{{TimeMS: 0, Total: 1}, {TimeMS: 10, Total: 2}}}
	backwards := &trace.Trace{Name: "x", Samples: []trace.Sample{{TimeMS: 10, Total: 1}, {TimeMS: 5, Total: 2}}}
	huge := &trace.Trace{Name: "x", Samples: []trace.Sample{{TimeMS: 0, Total: 1 << 62}}}
	tests := []struct {
		name  string
		edit  func(o *Options)
		want  error
		group string
	}{
		{"zero speed", func(o *Options) { o.Speed = 0 }, nil, ""},
		{"negative base", func(o *Options) { o.Base = -1 }, nil, ""},
		{"time backwards", func(o *Options) { o.Trace = backwards }, trace.ErrTimeBackwards, ""},
		{"empty trace", func(o *Options) { o.Trace = &trace.Trace{Name: "x"} }, trace.ErrNoSamples, ""},
		{"nil trace", func(o *Options) { o.Trace = nil }, trace.ErrNoSamples, ""},
		{"target overflow", func(o *Options) { o.Trace, o.Base = huge, 1<<62 }, ErrTargetRange, ""},
		{"missing group", func(o *Options) { o.Group = "no/such/group" }, fs.ErrNotExist, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := testutil.FakeCgroupTree(t, map[string]string{"g/memory.events": "oom_kill 0\n"})
			o := Options{
				FS: &cgroup.FS{Root: root}, Trace: good, Speed: 50, Base: 100, Group: "g",
				Command: func([]string) *exec.Cmd { t.Fatal("the worker was started"); return nil },
			}
			tt.edit(&o)
			res, err := Run(context.Background(), o)
			if err == nil || res != nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("Run = %v, %v; want an error matching %v", res, err, tt.want)
			}
			t.Log(err)
		})
	}
}
