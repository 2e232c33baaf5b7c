package record

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/testutil"
	"github.com/memqos/memqos/internal/trace"
)

func TestNextTick(t *testing.T) {
	const iv = 100 * time.Millisecond
	tests := []struct {
		name    string
		elapsed time.Duration
		want    int64
	}{
		{"at the start", 0, 1},
		{"just after a tick", 100*time.Millisecond + 300*time.Microsecond, 2},
		{"exactly on a tick", 200 * time.Millisecond, 3},
		// A sample taken 150 ms late skips the missed tick instead of
		// taking two samples in a row.
		{"late", 250 * time.Millisecond, 3},
		{"before the start", -time.Millisecond, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nextTick(tt.elapsed, iv); got != tt.want {
				t.Errorf("nextTick(%v) = %d; want %d", tt.elapsed, got, tt.want)
			}
		})
	}
}

func cgroupFiles(withPSI bool) map[string]string {
	files := map[string]string{
		"g/memory.current": "209715200\n",
		"g/memory.stat":    "anon 200000000\nfile 4096\nkernel 123\n",
		"g/memory.events":  "low 0\nhigh 2\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n",
	}
	if withPSI {
		files["g/memory.pressure"] = "some avg10=1.50 avg60=0.20 avg300=0.00 total=12345\nfull avg10=0.50 avg60=0.10 avg300=0.00 total=678\n"
	}
	return files
}

func TestSampleOf(t *testing.T) {
	anon, file := int64(200000000), int64(4096)
	base := trace.Sample{
		TimeMS: 1234, Total: 209715200, Anon: &anon, File: &file,
		MemoryEvents: &trace.MemoryEvents{High: 2, Max: 3, OOM: 1, OOMKill: 1},
	}
	withPSI := base
	withPSI.Pressure = &trace.Pressure{
		Some: trace.PressureLine{Avg10: 1.5, Avg60: 0.2, TotalUS: 12345},
		Full: trace.PressureLine{Avg10: 0.5, Avg60: 0.1, TotalUS: 678},
	}
	tests := []struct {
		name string
		psi  bool
		want trace.Sample
	}{
		{"with PSI", true, withPSI},
		{"without PSI", false, base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := (&cgroup.FS{Root: testutil.FakeCgroupTree(t, cgroupFiles(tt.psi))}).Group("g")
			got, err := sampleOf(g, 1234*time.Millisecond+900*time.Microsecond)
			if err != nil {
				t.Fatal(err)
			}
			if !sameSample(got, tt.want) {
				t.Errorf("sampleOf = %s; want %s", show(got), show(tt.want))
			}
		})
	}
}

func TestSampleOfMissingFile(t *testing.T) {
	files := cgroupFiles(true)
	delete(files, "g/memory.stat")
	g := (&cgroup.FS{Root: testutil.FakeCgroupTree(t, files)}).Group("g")
	if _, err := sampleOf(g, 0); err == nil {
		t.Error("sampleOf without memory.stat succeeded")
	}
}

func sameSample(a, b trace.Sample) bool { return show(a) == show(b) }

func show(s trace.Sample) string {
	tr := &trace.Trace{Name: "x", Samples: []trace.Sample{s}}
	var b bytes.Buffer
	if err := trace.Encode(&b, tr); err != nil {
		return err.Error()
	}
	return b.String()
}

func TestRecordOptionErrors(t *testing.T) {
	started := exec.Command("true")
	if err := started.Run(); err != nil {
		t.Fatal(err)
	}
	fsys := &cgroup.FS{Root: t.TempDir()}
	tests := []struct {
		name string
		o    Options
	}{
		{"no FS", Options{Command: exec.Command("true")}},
		{"no command", Options{FS: fsys}},
		{"started", Options{FS: fsys, Command: started}},
		{"tiny interval", Options{FS: fsys, Command: exec.Command("true"), Interval: time.Microsecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Record(context.Background(), tt.o); err == nil {
				t.Error("Record succeeded")
			}
			if entries, _ := os.ReadDir(fsys.Root); len(entries) > 0 {
				t.Errorf("Record created %v", entries)
			}
		})
	}
}
