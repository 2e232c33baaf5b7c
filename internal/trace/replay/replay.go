package replay

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/proc"
	"github.com/memqos/memqos/internal/trace"
)

// Options configure a replay.
type Options struct {
	// FS is the cgroup v2 hierarchy.
	FS *cgroup.FS
	// Trace is the trace to replay; Run validates it.
	Trace *trace.Trace
	// Speed divides the trace's times: 50 replays 100 s in 2 s.
	Speed float64
	// Base is added to every sample's total, in bytes.
	Base int64
	// Group is an existing group, relative to FS's root, for the worker;
	// empty means a fresh group below the root, removed afterwards, and
	// SelfGroup the caller's own group.
	Group string
	// NoTHP makes the worker disable transparent huge pages.
	NoTHP bool
	// Command returns the worker command for WorkerArgs: a process that
	// runs WorkerMain. Run sets its Stdin, Stdout and SysProcAttr.Setpgid.
	Command func(args []string) *exec.Cmd
	// Log receives progress; nil discards it.
	Log *slog.Logger
	// clock times the replay; nil is the wall clock. Tests inject a fake.
	clock clock
}

// clk returns the clock that times the replay.
func (o *Options) clk() clock {
	if o.clock == nil {
		return wallClock{}
	}
	return o.clock
}

// Targets returns each sample's target footprint: its total plus base.
func Targets(t *trace.Trace, base int64) ([]int64, error) {
	out := make([]int64, len(t.Samples))
	for i, s := range t.Samples {
		v, err := Target(s.Total, base)
		if err != nil {
			return nil, fmt.Errorf("sample %d: %w", i, err)
		}
		out[i] = v
	}
	return out, nil
}

// check validates the options and returns the targets.
func (o *Options) check() ([]int64, error) {
	switch {
	case o.FS == nil || o.Command == nil:
		return nil, errors.New("replay: FS and Command are required")
	case !(o.Speed > 0) || o.Speed > 1e9:
		return nil, fmt.Errorf("replay: speed %v must be positive", o.Speed)
	case o.Base < 0:
		return nil, fmt.Errorf("replay: base %d bytes is negative", o.Base)
	}
	if err := o.Trace.Validate(); err != nil {
		return nil, fmt.Errorf("replay: trace: %w", err)
	}
	targets, err := Targets(o.Trace, o.Base)
	if err != nil {
		return nil, fmt.Errorf("replay: trace %s: %w", o.Trace.Name, err)
	}
	return targets, nil
}

// SelfGroup as Options.Group keeps the worker in the caller's own group,
// as a replay inside a container must: the container's cgroup file system
// is read-only. The caller's own memory is then counted with the worker's
// (a few MB), and an OOM kill is still told apart by the worker's SIGKILL
// and the group's oom_kill count.
const SelfGroup = "self"

// group returns the worker's group and a function that removes it if Run
// created it.
func (o *Options) group() (*cgroup.Group, func() error, error) {
	if o.Group == SelfGroup {
		g, err := o.FS.GroupOf(os.Getpid())
		if err != nil {
			return nil, nil, fmt.Errorf("replay cgroup: %w", err)
		}
		// In a container's cgroup namespace the container's group is "/",
		// so only the host's root group, which has no memory.events, is
		// refused.
		if _, err := g.MemoryEvents(); err != nil {
			return nil, nil, fmt.Errorf("replay cgroup %q: memqos's own group %s counts no memory events (the root group?); run it in a container or a group of its own: %w", SelfGroup, g.Path(), err)
		}
		return g, func() error { return nil }, nil
	}
	if o.Group != "" {
		g := o.FS.Group(o.Group)
		if err := checkDir(g.Path()); err != nil {
			return nil, nil, fmt.Errorf("replay cgroup: %w", err)
		}
		return g, func() error { return nil }, nil
	}
	g, err := proc.CreateGroup(o.FS, "replay", o.Log)
	if err != nil {
		return nil, nil, err
	}
	return g, func() error { return proc.RemoveGroup(g) }, nil
}

// checkDir fails with fs.ErrNotExist unless path is a directory.
func checkDir(path string) error {
	st, err := os.Stat(path)
	if err == nil && !st.IsDir() {
		err = &fs.PathError{Op: "stat", Path: path, Err: fmt.Errorf("not a directory: %w", fs.ErrNotExist)}
	}
	return err
}

// Run replays o.Trace in a worker process and returns what it measured.
// An error means nothing was replayed (see the package documentation);
// how the worker fared is in Result.Status. If the group Run created
// cannot be removed afterwards, that is logged and noted in Result.Error.
func Run(ctx context.Context, o Options) (*Result, error) {
	targets, err := o.check()
	if err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	g, remove, err := o.group()
	if err != nil {
		return nil, err
	}
	res, err := o.replay(ctx, g, targets)
	if rerr := remove(); rerr != nil {
		o.Log.Warn("cleanup", "err", rerr)
		if res == nil {
			return nil, errors.Join(err, rerr)
		}
		res.Error = strings.TrimPrefix(res.Error+"; "+rerr.Error(), "; ")
	}
	return res, err
}

// replay runs the worker in g through the schedule.
func (o *Options) replay(ctx context.Context, g *cgroup.Group, targets []int64) (*Result, error) {
	before, err := g.MemoryEvents()
	if err != nil {
		return nil, fmt.Errorf("replay cgroup: %w", err)
	}
	p, err := startWorker(g, o.Group == SelfGroup, o.Command(WorkerArgs(o.NoTHP)))
	if err != nil {
		return nil, err
	}
	o.Log.Info("replaying", "trace", o.Trace.Name, "samples", len(targets), "speed", o.Speed, "cgroup", g.Name(), "worker", p.cmd.Process.Pid)
	res := o.newResult(g, targets)
	var k0 *kernelSnapshot
	var k0Err error
	runErr := o.drive(ctx, p, targets, res, func() {
		k, err := snapshotKernel(g)
		k0, k0Err = &k, err
	})
	if ctx.Err() != nil {
		p.kill()
	}
	ps := p.stop()
	o.finish(res, g, before, ps, runErr, ctx.Err() != nil)
	o.finishKernel(res, g, k0, k0Err)
	o.Log.Info("replay finished", "status", res.Status, "wall_s", res.WallS, "fidelity", res.Fidelity,
		"exit_code", res.Exit.Code, "signal", res.Exit.Signal, "oom_kill_delta", res.OOMKillDelta)
	return res, nil
}

// drive waits for the worker to be ready, brings it to sample 0 (the
// starting state, before the clock starts), then runs the schedule for the
// other samples. It calls started when the clock starts.
func (o *Options) drive(ctx context.Context, p *workerProc, targets []int64, res *Result, started func()) error {
	pageSize, err := p.ready(ctx)
	if err != nil {
		return fmt.Errorf("worker start: %w", err)
	}
	res.PageSize = pageSize
	step := func(i int, late time.Duration) error {
		rp, err := p.adjust(ctx, targets[i])
		if err != nil {
			return fmt.Errorf("sample %d (target %d bytes): %w", i, targets[i], err)
		}
		res.add(i, rp, late)
		return nil
	}
	clk := o.clk()
	setup := clk.Now()
	if err := step(0, 0); err != nil {
		return err
	}
	res.SetupS = seconds(clk.Now().Sub(setup))
	started()
	dues := DueTimes(o.Trace, o.Speed)[1:]
	r, err := runSchedule(ctx, clk, dues, func(i int, late time.Duration) error { return step(i+1, late) })
	res.SamplesReplayed = 1 + r.Done
	res.WallS = seconds(r.Wall)
	res.Lateness = newLateness(r.Lateness)
	res.LatencyBoundS = seconds(latencyBound(dues, res.Events[1:]))
	return err
}

// newResult fills in what is known before the replay.
func (o *Options) newResult(g *cgroup.Group, targets []int64) *Result {
	res := &Result{
		Format: ResultFormat, Trace: o.Trace.Name, Source: o.Trace.Source, Samples: len(targets),
		Speed: o.Speed, BaseBytes: o.Base, NoTHP: o.NoTHP, Cgroup: g.Name(),
		TraceDurationS: seconds(o.Trace.Duration()),
		ScheduledS:     seconds(o.Trace.Duration()) / o.Speed,
		Events:         []Event{},
	}
	for _, t := range targets {
		res.TargetPeakBytes = max(res.TargetPeakBytes, t)
	}
	return res
}

// finishKernel fills in what the kernel counted since k0, the snapshot
// taken when the clock started (none if the setup failed). A counter it
// cannot read is noted in res.Error; the replay's status stands.
func (o *Options) finishKernel(res *Result, g *cgroup.Group, k0 *kernelSnapshot, k0Err error) {
	if k0 == nil {
		return
	}
	k, err := snapshotKernel(g)
	if err = errors.Join(k0Err, err); err != nil {
		o.Log.Warn("kernel counters", "err", err)
		res.Error = strings.TrimPrefix(res.Error+"; kernel counters: "+err.Error(), "; ")
		return
	}
	res.Kernel = k.since(*k0)
}

// finish fills in how the worker ended and what the group counted. A
// group file it cannot read is logged and noted in res.Error.
func (o *Options) finish(res *Result, g *cgroup.Group, before cgroup.MemoryEvents, ps *os.ProcessState, runErr error, interrupted bool) {
	var errs []error
	if runErr != nil {
		errs = append(errs, runErr)
	}
	if after, err := g.MemoryEvents(); err != nil {
		errs = append(errs, err)
	} else {
		res.MemoryEventsDelta = after.Sub(before)
	}
	if peak, err := g.MemoryPeak(); err != nil {
		errs = append(errs, err)
	} else {
		res.CgroupPeakBytes = peak
	}
	res.OOMKillDelta = res.MemoryEventsDelta.OOMKill
	res.Exit = newExit(proc.StatusOf(ps))
	res.Status = status(res.Exit, res.MemoryEventsDelta, interrupted, runErr != nil)
	res.OOMKilled = res.Status == OOMKilled
	if res.ScheduledS > 0 {
		res.Fidelity = res.WallS / res.ScheduledS
	}
	res.Latency = newLatency(res.Events)
	if err := errors.Join(errs...); err != nil {
		res.Error = err.Error()
	}
}
