package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/memqos/memqos/internal/bpf"
	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/trace"
)

// Options configure a bench.
type Options struct {
	// FS is the cgroup v2 hierarchy; Parent is the bench's own group,
	// relative to its mount, created if missing. Each arm runs in a fresh
	// group below it, removed afterwards.
	FS     *cgroup.FS
	Parent string
	// Out is the results directory; it must be empty or not exist, unless
	// Resume is set.
	Out string
	// Resume carries on the bench already in Out, which a crashed guest
	// left: the same kind, arms, runs and seed. Arms with results, and
	// arms discarded, are not run again; an arm begun but not finished is
	// discarded first (Recover).
	Resume bool
	// HoldTracepoint keeps bpf.HeldProbes no-op probes on
	// memcg:count_memcg_events for the whole bench, attached before the
	// first arm, so that no arm's daemon patches kernel text when it
	// attaches or detaches its own (bpf.HoldTracepoint): for guests under
	// multi-threaded TCG. Every arm, none included, pays for the probes.
	HoldTracepoint bool
	// Manifest is copied into Out/bench.json with the fields the bench
	// fills (format, kind, scenario, arms, times); the caller sets the
	// version, commit, kernel and probe.
	Manifest   Manifest
	Scenario   Scenario
	Strategies []Strategy
	// Variants are daemon configurations run as arms of their own after
	// the strategies (isolation bench).
	Variants []Variant
	Runs     int
	// Seed orders the arms within each run.
	Seed uint64
	// ArmTimeout bounds each arm's replays; a replay still running then
	// is interrupted, and that is its result.
	ArmTimeout time.Duration
	// Worker returns the replay worker's command (memqos trace
	// replay-worker ARGS), for the process runtime.
	Worker func(args []string) *exec.Cmd
	// Runtime runs the sessions: processes (the default, "") or podman
	// containers of the sandbox image Image, which must hold memqos.
	Runtime Runtime
	Image   string
	Log     *slog.Logger
	// Progress is told after each arm; nil ignores it.
	Progress func(done, total int, a *Arm)
}

// runtime is o.Runtime, ProcessRuntime when not set.
func (o *Options) runtime() Runtime {
	if o.Runtime == "" {
		return ProcessRuntime
	}
	return o.Runtime
}

// newArmRunner returns the runner of o's arms, with o's session runtime;
// the caller closes the runtime.
func newArmRunner(o Options, sc Scenario) (*armRunner, error) {
	ar := &armRunner{fsys: o.FS, parent: o.Parent, out: o.Out, sc: sc, timeout: o.ArmTimeout, log: o.Log}
	switch o.runtime() {
	case ProcessRuntime:
		ar.rt = &processRuntime{fsys: o.FS, worker: o.Worker}
	case PodmanRuntime:
		rt, err := newPodmanRuntime(o.FS, o.Image, o.Log)
		if err != nil {
			return nil, err
		}
		ar.rt = rt
	default:
		return nil, fmt.Errorf("bench: unknown runtime %q", o.Runtime)
	}
	return ar, nil
}

// ErrOutNotEmpty means the results directory already holds something.
var ErrOutNotEmpty = errors.New("results directory is not empty")

// check validates the options that do not depend on the kernel.
func (o *Options) check() error {
	switch {
	case o.FS == nil || (o.Worker == nil && o.runtime() == ProcessRuntime):
		return errors.New("bench: no cgroup hierarchy or worker command")
	case o.runtime() == PodmanRuntime && o.Image == "":
		return errors.New("bench: the podman runtime needs a sandbox image")
	case o.Runs < 1:
		return fmt.Errorf("--runs %d: want at least 1", o.Runs)
	case len(o.Strategies) == 0:
		return errors.New("no strategy to run")
	case o.Scenario.Speed <= 0:
		return fmt.Errorf("--speed %v: want a positive factor", o.Scenario.Speed)
	case o.Scenario.BaseBytes < 0:
		return fmt.Errorf("--base-mb: want 0 or more")
	case o.ArmTimeout <= 0:
		return fmt.Errorf("arm timeout %v: want a positive duration", o.ArmTimeout)
	}
	if o.Resume {
		_, err := os.Stat(filepath.Join(o.Out, ManifestFile))
		if err != nil {
			return fmt.Errorf("resume: %w", err)
		}
		return nil
	}
	if err := CheckOut(o.Out); err != nil {
		return err
	}
	return os.MkdirAll(o.Out, 0o755)
}

// CheckOut makes sure the results directory is new or empty, so that no
// earlier results get mixed in or lost. It creates nothing.
func CheckOut(dir string) error {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case len(ents) > 0:
		return fmt.Errorf("%s: %w; give a new directory", dir, ErrOutNotEmpty)
	}
	return nil
}

// loadTraces loads each trace reference once.
func loadTraces(refs ...[]string) (map[string]*trace.Trace, error) {
	out := map[string]*trace.Trace{}
	for _, list := range refs {
		for _, ref := range list {
			if out[ref] != nil {
				continue
			}
			t, err := trace.LoadRef(ref)
			if err != nil {
				return nil, fmt.Errorf("trace %s: %w", ref, err)
			}
			if err := t.Validate(); err != nil {
				return nil, fmt.Errorf("trace %s: %w", ref, err)
			}
			out[ref] = t
		}
	}
	return out, nil
}

// runArms runs every plan of every run, each run in its own shuffled
// order, and writes the manifest before and after.
func runArms(ctx context.Context, o Options, names []string, plan func(run int, name string) armPlan) (err error) {
	ar, err := newArmRunner(o, o.Scenario)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, ar.rt.close()) }()
	m, skip, err := startManifest(o, names)
	if err != nil {
		return err
	}
	mpath := filepath.Join(o.Out, ManifestFile)
	if err := writeJSON(mpath, m); err != nil {
		return err
	}
	if _, err := o.FS.CreateEnabled(o.Parent); err != nil {
		return err
	}
	if o.HoldTracepoint {
		h, herr := bpf.HoldTracepoint()
		if herr != nil {
			return herr
		}
		defer func() { err = errors.Join(err, h.Close()) }()
	}
	total, done := o.Runs*len(names), 0
	for run := 1; run <= o.Runs; run++ {
		order := append([]string(nil), names...)
		rand.New(rand.NewPCG(o.Seed, uint64(run))).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for i, name := range order {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("bench interrupted after %d of %d arms: %w", done, total, err)
			}
			if skip[armKey{run, name}] {
				done++
				continue
			}
			p := plan(run, name)
			p.order = i
			a := ar.run(ctx, p)
			done++
			if o.Progress != nil {
				o.Progress(done, total, a)
			}
		}
	}
	m.Finished = time.Now().UTC().Format(time.RFC3339)
	return writeJSON(mpath, m)
}

// startManifest returns the manifest of a new bench, or of the bench that
// o resumes, with the arms not to run again.
func startManifest(o Options, names []string) (Manifest, map[armKey]bool, error) {
	if o.Resume {
		return resumeManifest(o, names)
	}
	m := o.Manifest
	m.Format, m.Scenario, m.Arms, m.Runs, m.Seed, m.Variants = ManifestFormat, o.Scenario, names, o.Runs, o.Seed, o.Variants
	m.Runtime = o.runtime()
	if m.Runtime == PodmanRuntime {
		m.Image = o.Image
	}
	m.Started = time.Now().UTC().Format(time.RFC3339)
	return m, nil, nil
}
