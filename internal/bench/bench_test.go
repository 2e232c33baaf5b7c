package bench

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/kernel"
	"github.com/memqos/memqos/internal/testutil"
	"github.com/memqos/memqos/internal/trace"
)

func probe(rfc bool) *kernel.Report {
	r := &kernel.Report{}
	r.MemcgOps.OK = rfc
	if !rfc {
		r.MemcgOps.Detail = "no memcg_bpf_ops in the kernel's BTF"
	}
	return r
}

func TestParseStrategies(t *testing.T) {
	for _, tc := range []struct {
		list string
		rfc  bool
		want string // joined strategies, or the error's text
	}{
		{"all", true, "none,static,high-only,reference,structops,cgroupfs"},
		{"all", false, "none,static,high-only,cgroupfs"},
		{"none, cgroupfs", false, "none,cgroupfs"},
		{"structops", false, `strategy "structops" needs a kernel with memcg_bpf_ops (no memcg_bpf_ops in the kernel's BTF)`},
		{"none,bogus", true, `unknown strategy "bogus"`},
		{"none,none", true, `strategy "none" given twice`},
	} {
		got, err := ParseStrategies(tc.list, probe(tc.rfc))
		var s []string
		for _, g := range got {
			s = append(s, string(g))
		}
		text := strings.Join(s, ",")
		if err != nil {
			text = err.Error()
		}
		if !strings.HasPrefix(text, tc.want) {
			t.Errorf("ParseStrategies(%q, rfc %v) = %q; want %q", tc.list, tc.rfc, text, tc.want)
		}
	}
}

// TestDaemonConfigs checks that each daemon strategy's configuration is
// valid and is the policy it names: the reference strategy is the
// reference experiment's policy on the kernel backend.
func TestDaemonConfigs(t *testing.T) {
	for _, s := range []Strategy{Reference, StructOps, CgroupFS} {
		cfg, err := config.Parse([]byte(s.daemonConfig("memqos-bench/r1-x", "/tmp/state.json")))
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		low := cfg.Class("low")
		switch s {
		case Reference:
			d := cfg.Detector
			if cfg.Backend != config.BackendStructOps || d.Threshold != 10000 || d.Headroom.Percent != 0 || d.Headroom.Bytes != 0 ||
				low.Delay.D() != 50*time.Millisecond || low.MemoryHigh.Bytes != referenceLowHigh || low.Slow != config.SlowDelay ||
				cfg.Class("high").Protect != config.ProtectLow {
				t.Errorf("reference: %+v, LOW %+v", cfg, low)
			}
		case StructOps, CgroupFS:
			if string(cfg.Backend) != string(s) || cfg.Policy != config.PolicyDefault {
				t.Errorf("%s: backend %s policy %s", s, cfg.Backend, cfg.Policy)
			}
		}
		if cfg.Root != "memqos-bench/r1-x" || cfg.State != "/tmp/state.json" {
			t.Errorf("%s: root %q state %q", s, cfg.Root, cfg.State)
		}
	}
	for _, s := range []Strategy{None, Static, HighOnly} {
		if c := s.daemonConfig("r", "s"); c != "" {
			t.Errorf("%s runs a daemon: %s", s, c)
		}
	}
}

func testTraces() (Scenario, map[string]*trace.Trace) {
	sc := Scenario{TotalBytes: 1_100_000_000, Speed: 50, High: []string{"h"}, Low: []string{"l", "l"}}
	tr := func(name string, peak int64) *trace.Trace {
		return &trace.Trace{Name: name, Samples: []trace.Sample{{TimeMS: 0, Total: 1}, {TimeMS: 1000, Total: peak}, {TimeMS: 2000, Total: 5}}}
	}
	return sc, map[string]*trace.Trace{"h": tr("h", 300e6), "l": tr("l", 200e6)}
}

func TestIsolationPlan(t *testing.T) {
	sc, traces := testTraces()
	names := func(p armPlan) string {
		var s []string
		for _, x := range p.sessions {
			s = append(s, x.Class+"/"+x.Name)
		}
		return strings.Join(s, " ")
	}
	for _, tc := range []struct {
		arm, sessions string
		daemon        bool
		limits        map[string]map[string]cgroup.Limit
	}{
		{"none", "high/high-0 low/low-0 low/low-1", false, nil},
		{"static", "high/high-0 low/low-0 low/low-1", false, map[string]map[string]cgroup.Limit{
			"high-0": {cgroup.MemoryMax: 366_666_666}, "low-0": {cgroup.MemoryMax: 366_666_666}, "low-1": {cgroup.MemoryMax: 366_666_666}}},
		{"high-only", "high/high-0 low/low-0 low/low-1", false, map[string]map[string]cgroup.Limit{
			"low-0": {cgroup.MemoryHigh: 400 << 20}, "low-1": {cgroup.MemoryHigh: 400 << 20}}},
		{"structops", "high/high-0 low/low-0 low/low-1", true, nil},
		{SoloHigh, "high/high-0", false, nil},
		{SoloLow, "low/low-0", false, nil},
	} {
		p := isolationPlan(sc, traces, 2, tc.arm)
		if got := names(p); got != tc.sessions {
			t.Errorf("%s: sessions %q; want %q", tc.arm, got, tc.sessions)
		}
		if got := p.strategy.RunsDaemon(); got != tc.daemon {
			t.Errorf("%s: runs a daemon %v; want %v", tc.arm, got, tc.daemon)
		}
		for _, s := range p.sessions {
			want := tc.limits[s.Name]
			if len(s.limits) != len(want) {
				t.Errorf("%s %s: limits %v; want %v", tc.arm, s.Name, s.limits, want)
			}
			for k, v := range want {
				if s.limits[k] != v {
					t.Errorf("%s %s: %s = %v; want %v", tc.arm, s.Name, k, s.limits[k], v)
				}
			}
		}
	}
}

func TestIdleHoldsPeak(t *testing.T) {
	sc, traces := testTraces()
	sc.HighIdle = true
	p := isolationPlan(sc, traces, 1, "none")
	h := p.sessions[0]
	if !h.idle || h.tr.Samples[0].Total != 300e6 || h.tr.Samples[1].Total != 300e6 || len(h.tr.Samples) != 2 {
		t.Fatalf("idle HIGH session: idle %v, samples %+v; want the peak, held", h.idle, h.tr.Samples)
	}
	if err := h.tr.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.sessions[1].idle {
		t.Error("a LOW session is idle")
	}
}

func TestSawtooth(t *testing.T) {
	tr := sawtooth(10<<20, 3)
	if err := tr.Validate(); err != nil {
		t.Fatal(err)
	}
	var totals []int64
	for _, s := range tr.Samples {
		totals = append(totals, s.Total)
	}
	want := []int64{0, 10 << 20, 0, 10 << 20, 0, 10 << 20, 0}
	if len(totals) != len(want) {
		t.Fatalf("totals %v; want %v", totals, want)
	}
	for i := range want {
		if totals[i] != want[i] {
			t.Fatalf("totals %v; want %v", totals, want)
		}
	}
}

func TestOptionsRejected(t *testing.T) {
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "old"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	good := func() Options {
		sc, _ := testTraces()
		sc.High, sc.Low = []string{"builtin:dask__dask-11628"}, []string{"builtin:sigmavirus24__github3.py-673"}
		return Options{FS: &cgroup.FS{Root: t.TempDir()}, Out: filepath.Join(t.TempDir(), "new"), Scenario: sc,
			Strategies: []Strategy{None}, Runs: 1, ArmTimeout: time.Minute, Worker: nil}
	}
	for _, tc := range []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"no worker", func(o *Options) {}, "no cgroup hierarchy or worker command"},
		{"runs", func(o *Options) { o.Runs = 0 }, "--runs 0"},
		{"speed", func(o *Options) { o.Scenario.Speed = 0 }, "--speed 0"},
		{"out", func(o *Options) { o.Out = full }, "results directory is not empty"},
		{"no low", func(o *Options) { o.Scenario.Low = nil }, "at least one HIGH and one LOW"},
		{"trace", func(o *Options) { o.Scenario.Low = []string{"/nonexistent/trace.json"} }, "trace /nonexistent/trace.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := good()
			if tc.name != "no worker" {
				o.Worker = workerForTest
			}
			tc.change(&o)
			err := Isolation(t.Context(), o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v; want %q", err, tc.want)
			}
			if tc.name == "out" {
				if _, err := os.Stat(filepath.Join(full, "old")); err != nil || !errors.Is(Isolation(t.Context(), o), ErrOutNotEmpty) {
					t.Errorf("the old results were touched, or the error is not ErrOutNotEmpty: %v", err)
				}
			}
		})
	}
}

// TestSharedTraces checks that every shared podman-stats trace can be a
// session of an isolation bench: it loads, validates, and makes an arm
// whose sessions replay it.
func TestSharedTraces(t *testing.T) {
	files := testutil.SharedTraceFiles(t)
	traces, err := loadTraces(files)
	if err != nil {
		t.Fatal(err)
	}
	sc := Scenario{TotalBytes: 2e9, Speed: 10, High: files[:1], Low: files}
	p := isolationPlan(sc, traces, 1, string(CgroupFS))
	if len(p.sessions) != len(files)+1 {
		t.Fatalf("%d sessions for %d traces", len(p.sessions), len(files))
	}
	for _, s := range p.sessions {
		if s.tr == nil || len(s.tr.Samples) < 2 {
			t.Errorf("session %s: trace %s not loaded", s.Name, s.Trace)
		}
	}
}

// TestSoloLowPerTrace: solo-low replays each distinct LOW trace once, one
// after the other.
func TestSoloLowPerTrace(t *testing.T) {
	sc, traces := testTraces()
	traces["m"] = traces["l"]
	sc.Low = []string{"l", "m", "l"}
	p := isolationPlan(sc, traces, 1, SoloLow)
	var got []string
	for _, s := range p.sessions {
		got = append(got, s.Name+":"+s.Trace)
	}
	if strings.Join(got, " ") != "low-0:l low-1:m" || !p.sequential {
		t.Fatalf("solo-low sessions %v, sequential %v; want low-0:l low-1:m, one after the other", got, p.sequential)
	}
}
