package daemon

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/kernel"
	"github.com/memqos/memqos/internal/policy"
)

// Reports of the kinds of host memqos meets.
var (
	ok      = kernel.Feature{OK: true}
	rfcHost = &kernel.Report{PSI: ok, BTF: ok, MemcgOps: ok, ABI: kernel.ABIv7, Tracepoint: ok, Privileges: ok,
		Backend: kernel.BackendMemcgOps, BackendWhy: "memcg_bpf_ops v7"}
	stockHost = &kernel.Report{PSI: ok, BTF: ok, Tracepoint: ok, Privileges: ok,
		Backend: kernel.BackendTracepoint, BackendWhy: "no usable memcg_bpf_ops"}
	psiHost    = &kernel.Report{PSI: ok, BTF: ok, Privileges: ok, Backend: kernel.BackendPSI, BackendWhy: "no BPF detector"}
	barestHost = &kernel.Report{Backend: kernel.BackendEvents, BackendWhy: "no BPF detector or PSI"}
)

func TestChoose(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		host      *kernel.Report
		dry       bool
		// want: the backend name, then the actuators in order; or the
		// error's text.
		want, actuators, err string
	}{
		{name: "auto on the RFC", doc: "", host: rfcHost, want: "structops (pgfault)", actuators: "structops,cgroupfs"},
		{name: "auto on a stock kernel", host: stockHost, want: "cgroupfs (pgfault)", actuators: "cgroupfs"},
		{name: "auto without the tracepoint", host: psiHost, want: "cgroupfs (psi)", actuators: "cgroupfs"},
		{name: "auto without PSI", host: barestHost, want: "cgroupfs (events)", actuators: "cgroupfs"},
		{name: "cgroupfs on the RFC", doc: "backend: cgroupfs\n", host: rfcHost, want: "cgroupfs (pgfault)", actuators: "cgroupfs"},
		{name: "cgroupfs with psi", doc: "backend: cgroupfs\ndetector: {source: psi}\n", host: rfcHost, want: "cgroupfs (psi)", actuators: "cgroupfs"},
		{name: "reclaim", doc: "reclaim", host: stockHost, want: "cgroupfs (pgfault)", actuators: "reclaim,cgroupfs"},
		{name: "reclaim on the RFC", doc: "reclaim", host: rfcHost, want: "structops (pgfault)", actuators: "structops,reclaim,cgroupfs"},
		// A dry run loads no BPF: the next detector without it.
		{name: "dry run on the RFC", host: rfcHost, dry: true, want: "structops (psi)", actuators: "structops,cgroupfs"},
		{name: "dry run on a stock kernel", host: stockHost, dry: true, want: "cgroupfs (psi)", actuators: "cgroupfs"},
		{name: "dry run without PSI", host: &kernel.Report{BTF: ok, Tracepoint: ok, Privileges: ok, Backend: kernel.BackendTracepoint},
			dry: true, want: "cgroupfs (events)", actuators: "cgroupfs"},
		{name: "structops without the RFC", doc: "backend: structops\n", host: stockHost, err: "backend structops needs a kernel with the memcg_bpf_ops RFC"},
		{name: "structops with psi", doc: "backend: structops\ndetector: {source: psi}\n", host: rfcHost, err: "detector.source: psi works with the cgroupfs backend"},
		{name: "psi without PSI", doc: "detector: {source: psi}\n", host: barestHost, err: "detector source psi needs pressure stall information"},
		{name: "pgfault without the tracepoint", doc: "backend: cgroupfs\ndetector: {source: pgfault}\n", host: psiHost, err: "detector source pgfault needs the memcg:count_memcg_events tracepoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			classes := "classes:\n  - {name: high, priority: high}\n  - {name: low, priority: low}\n"
			doc := tc.doc
			if doc == "reclaim" {
				doc, classes = "", strings.Replace(classes, "priority: low}", "priority: low, reclaim_on_cap: 32MiB}", 1)
			}
			cfg, err := config.Parse([]byte(doc + classes))
			if err != nil {
				t.Fatal(err)
			}
			ch, err := choose(cfg, tc.host, tc.dry)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v; want an error saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, a := range ch.actuators {
				names = append(names, a.name)
			}
			if got := ch.name(); got != tc.want || strings.Join(names, ",") != tc.actuators {
				t.Errorf("chose %s with %v; want %s with %s", got, names, tc.want, tc.actuators)
			}
			if tc.dry && ch.detector.bpf {
				t.Error("a dry run chose a detector that loads BPF")
			}
		})
	}
}

// TestDryRunOpensNoBPF: in a dry run, an actuator that would load BPF is
// a stand-in that only logs; opening the choice touches no kernel (here,
// a host without BPF, where opening memcg_bpf_ops would fail).
func TestDryRunOpensNoBPF(t *testing.T) {
	cfg, err := config.Parse([]byte("classes:\n  - {name: high, priority: high}\n  - {name: low, priority: low}\n"))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := choose(cfg, rfcHost, true)
	if err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	p, err := ch.open(&env{cfg: cfg, root: fakeTree(t).Group("memqos")}, true, slog.New(slog.NewJSONHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	if _, ok := p.acts[0].(*dryActuator); !ok || p.obj != nil {
		t.Fatalf("dry run opened %T and BPF object %v; want the stand-in and none", p.acts[0], p.obj)
	}
	p.acts[0].Apply(policy.Plan{Delay: map[string]time.Duration{"low": 20 * time.Millisecond}}, nil)
	if !strings.Contains(log.String(), `"action":"delay","actuator":"structops","class":"low","delay":"20ms","dry_run":true`) {
		t.Errorf("the stand-in did not log the delay:\n%s", log.String())
	}
}
