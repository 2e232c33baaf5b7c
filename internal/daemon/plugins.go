package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/memqos/memqos/internal/actuate"
	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/detect"
	"github.com/memqos/memqos/internal/govern"
	"github.com/memqos/memqos/internal/kernel"
	"github.com/memqos/memqos/internal/memcgbpf"
	"github.com/memqos/memqos/internal/policy"
)

// The daemon's plugins, and the one rule that chooses them. Adding a
// detector or an actuator is its implementation in internal/detect or
// internal/actuate and one entry in a table below.

// env is what a plugin is opened with. The BPF object is opened once, on
// first use, and shared by the plugins that use it.
type env struct {
	cfg   *config.Config
	root  *cgroup.Group
	knobs govern.Knobs
	obj   *memcgbpf.Object
}

func (e *env) bpf() (*memcgbpf.Object, error) {
	if e.obj == nil {
		o, err := memcgbpf.Open(e.cfg)
		if err != nil {
			return nil, err
		}
		e.obj = o
	}
	return e.obj, nil
}

// detectorSpec is a detector: the source that names it, whether it loads
// BPF (then a dry run uses the next usable source instead), what it needs
// of the host, and how it opens.
type detectorSpec struct {
	source config.Source
	bpf    bool
	needs  func(r *kernel.Report) error
	open   func(e *env) (govern.Detector, error)
}

// detectors, best first.
var detectors = []detectorSpec{
	{source: config.SourcePgfault, bpf: true, needs: needsTracepoint, open: func(e *env) (govern.Detector, error) {
		o, err := e.bpf()
		if err != nil {
			return nil, err
		}
		return detect.NewPGFault(o), nil
	}},
	{source: config.SourcePSI, needs: func(r *kernel.Report) error {
		if !r.PSI.OK {
			return fmt.Errorf("detector source psi needs pressure stall information: %s", r.PSI.Detail)
		}
		return nil
	}, open: func(e *env) (govern.Detector, error) { return detect.NewPSI(e.cfg), nil }},
	{source: config.SourceEvents, needs: func(*kernel.Report) error { return nil }, open: func(e *env) (govern.Detector, error) {
		return detect.NewEvents(e.cfg, e.root)
	}},
}

func needsTracepoint(r *kernel.Report) error {
	if !r.Tracepoint.OK || !r.BTF.OK || !r.Privileges.OK {
		return fmt.Errorf("detector source pgfault needs the memcg:count_memcg_events tracepoint, kernel BTF and BPF privileges: %s", r.Tracepoint.Detail+r.BTF.Detail+r.Privileges.Detail)
	}
	return nil
}

// actuatorSpec is an actuator: its name, the means it adds to the
// policy's, whether it loads BPF (then a dry run puts a stand-in that
// only logs in its place), when a configuration uses it, and how it
// opens. Actuators carry out a plan in the table's order.
type actuatorSpec struct {
	name  string
	means policy.Means
	bpf   bool
	use   func(cfg *config.Config, r *kernel.Report) (bool, error)
	open  func(e *env) (govern.Actuator, error)
}

var actuators = []actuatorSpec{
	{name: string(config.BackendStructOps), means: actuate.StructOpsMeans, bpf: true, use: useStructOps,
		open: func(e *env) (govern.Actuator, error) {
			o, err := e.bpf()
			if err != nil {
				return nil, err
			}
			return actuate.NewStructOps(o, e.cfg.Lease.D())
		}},
	// Before knobs, so that a member's memory is reclaimed before it is
	// capped.
	{name: "reclaim", use: useReclaim, open: func(e *env) (govern.Actuator, error) {
		if _, err := os.Stat(filepath.Join(e.root.Path(), cgroup.MemoryReclaim)); err != nil {
			return nil, fmt.Errorf("reclaim_on_cap needs memory.reclaim (Linux 5.19 or later): %w", err)
		}
		return actuate.NewReclaim(e.knobs), nil
	}},
	{name: string(config.BackendCgroupFS), use: func(*config.Config, *kernel.Report) (bool, error) { return true, nil },
		open: func(e *env) (govern.Actuator, error) { return actuate.NewKnobs(e.knobs), nil }},
}

// useStructOps: backend structops needs the RFC; auto takes it where the
// probe found it.
func useStructOps(cfg *config.Config, r *kernel.Report) (bool, error) {
	ops := r.Backend == kernel.BackendMemcgOps
	switch cfg.Backend {
	case config.BackendStructOps:
		if !ops {
			return false, fmt.Errorf("backend structops needs a kernel with the memcg_bpf_ops RFC, the count_memcg_events tracepoint and BPF privileges: %s (use backend: cgroupfs or auto)", r.BackendWhy)
		}
		return true, nil
	case config.BackendAuto:
		return ops, nil
	}
	return false, nil
}

func useReclaim(cfg *config.Config, _ *kernel.Report) (bool, error) {
	for _, c := range cfg.Classes {
		if c.ReclaimOnCap.Bytes > 0 {
			return true, nil
		}
	}
	return false, nil
}

// choice is the plugins a configuration gets on a host, and why.
type choice struct {
	detector  detectorSpec
	actuators []actuatorSpec
	means     policy.Means
	why       string
}

// name is how logs and the status name the choice: see backendName.
func (c choice) name() string { return backendName(c.means, string(c.detector.source)) }

// backendName is how logs and the status name the plugins in force, such
// as "structops (pgfault)" or "cgroupfs (psi)": structops where an
// actuator delays in the kernel, else cgroupfs, with the detector.
func backendName(m policy.Means, detector string) string {
	b := config.BackendCgroupFS
	if m.Delay {
		b = config.BackendStructOps
	}
	return string(b) + " (" + detector + ")"
}

// choose is the rule: the actuators the configuration and the host call
// for, and the detector they need. Where the configuration says auto, it
// follows the probe's verdict (kernel.Report.Backend), so that memqos
// probe and the daemon agree. A dry run never loads BPF: its detector is
// the first usable one without, and the actuators that would load BPF
// are only logged.
func choose(cfg *config.Config, r *kernel.Report, dry bool) (choice, error) {
	var ch choice
	for _, a := range actuators {
		ok, err := a.use(cfg, r)
		if err != nil {
			return ch, err
		}
		if ok {
			ch.actuators = append(ch.actuators, a)
			ch.means.Delay = ch.means.Delay || a.means.Delay
			ch.means.KernelProtect = ch.means.KernelProtect || a.means.KernelProtect
		}
	}
	src := cfg.Detector.Source
	switch {
	case ch.means.Delay && src != config.SourceAuto && src != config.SourcePgfault:
		return ch, &config.FieldError{Path: "detector.source", Msg: fmt.Sprintf("%s works with the cgroupfs backend; structops detects page faults in the kernel (pgfault)", src)}
	case ch.means.Delay:
		src = config.SourcePgfault // the delay follows the faults the kernel counts
	case src == config.SourceAuto:
		src = autoSource(r)
	}
	ch.why = "configured"
	if cfg.Backend == config.BackendAuto || cfg.Detector.Source == config.SourceAuto {
		ch.why = "auto: " + r.BackendWhy
	}
	for i, d := range detectors {
		if d.source != src {
			continue
		}
		if err := d.needs(r); err != nil {
			return ch, err
		}
		ch.detector = d
		if dry && d.bpf {
			ch.detector = firstWithoutBPF(detectors[i+1:], r)
			ch.why += fmt.Sprintf("; dry run: detector %s instead of %s, which attaches BPF", ch.detector.source, src)
		}
		return ch, nil
	}
	return ch, fmt.Errorf("unknown detector source %q", src)
}

// autoSource is the detector the probe's verdict implies.
func autoSource(r *kernel.Report) config.Source {
	switch r.Backend {
	case kernel.BackendMemcgOps, kernel.BackendTracepoint:
		return config.SourcePgfault
	case kernel.BackendPSI:
		return config.SourcePSI
	}
	return config.SourceEvents
}

func firstWithoutBPF(ds []detectorSpec, r *kernel.Report) detectorSpec {
	for _, d := range ds {
		if !d.bpf && d.needs(r) == nil {
			return d
		}
	}
	return detectors[len(detectors)-1]
}

// plugins are the opened detector and actuators of a choice.
type plugins struct {
	choice
	det  govern.Detector
	acts []govern.Actuator
	obj  *memcgbpf.Object // closed after the plugins that use it
}

// open opens a choice's plugins. In a dry run, an actuator that loads BPF
// is replaced by a stand-in that logs what it would do.
func (ch choice) open(e *env, dry bool, log *slog.Logger) (*plugins, error) {
	p := &plugins{choice: ch}
	fail := func(err error) (*plugins, error) {
		p.obj = e.obj
		return nil, errors.Join(err, p.close())
	}
	det, err := ch.detector.open(e)
	if err != nil {
		return fail(err)
	}
	p.det = det
	for _, a := range ch.actuators {
		if dry && a.bpf {
			p.acts = append(p.acts, &dryActuator{name: a.name, log: log})
			continue
		}
		act, err := a.open(e)
		if err != nil {
			return fail(fmt.Errorf("actuator %s: %w", a.name, err))
		}
		p.acts = append(p.acts, act)
	}
	p.obj = e.obj
	return p, nil
}

// close closes the actuators, the detector and the BPF object, once.
func (p *plugins) close() error {
	var errs []error
	for _, a := range p.acts {
		errs = append(errs, a.Close())
	}
	if p.det != nil {
		errs = append(errs, p.det.Close())
	}
	if p.obj != nil {
		errs = append(errs, p.obj.Close())
	}
	p.acts, p.obj = nil, nil
	return errors.Join(errs...)
}

func (p *plugins) backend() string { return backendName(p.means, p.det.Name()) }

// names lists the actuators in force.
func (p *plugins) names() string {
	var n []string
	for _, a := range p.acts {
		n = append(n, a.Name())
	}
	return strings.Join(n, ",")
}

// dryActuator stands in, in a dry run, for an actuator that would act in
// the kernel by itself: it logs the intents it would carry out.
type dryActuator struct {
	name   string
	log    *slog.Logger
	delays map[string]time.Duration // as last logged
}

func (a *dryActuator) Name() string { return a.name }

func (a *dryActuator) Add(m *govern.Member) error {
	a.log.Info("decision", "action", "attach", "actuator", a.name, "cgroup", m.Path, "class", m.Class.Name, "dry_run", true)
	return nil
}

func (a *dryActuator) Remove(m *govern.Member) error {
	a.log.Info("decision", "action", "detach", "actuator", a.name, "cgroup", m.Path, "class", m.Class.Name, "dry_run", true)
	return nil
}

func (a *dryActuator) Apply(p policy.Plan, _ map[string]*govern.Member) error {
	for class, d := range p.Delay {
		if d != a.delays[class] {
			a.log.Info("decision", "action", "delay", "actuator", a.name, "class", class, "delay", d.String(), "dry_run", true)
		}
	}
	a.delays = p.Delay
	return nil
}

func (a *dryActuator) Close() error { return nil }
