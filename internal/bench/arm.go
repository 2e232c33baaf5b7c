package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sync"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/journal"
	"github.com/memqos/memqos/internal/proc"
	"github.com/memqos/memqos/internal/trace"
	"github.com/memqos/memqos/internal/trace/replay"
)

// session is one member of an arm and what it replays.
type session struct {
	Member
	tr *trace.Trace
	// idle: hold the trace's first sample until the LOW sessions end.
	idle bool
	// speed overrides the scenario's speed when not 0; noBase leaves out
	// the scenario's base.
	speed  float64
	noBase bool
	// limits are knobs the strategy sets on the session's group before it
	// starts (memory.max for static, memory.high for high-only).
	limits map[string]cgroup.Limit
}

// armPlan is everything one arm needs to run.
type armPlan struct {
	name     string
	run      int
	order    int
	strategy Strategy // "" for a baseline and a variant
	// variant is the variant the arm runs, if it runs one.
	variant  *Variant
	sessions []*session
	// sequential: run the sessions one after the other (overhead bench).
	sequential bool
}

// runsDaemon says whether the arm runs the memqos daemon.
func (p armPlan) runsDaemon() bool { return p.variant != nil || p.strategy.RunsDaemon() }

// daemonConfig is the arm's daemon configuration, for a root and a state
// file.
func (p armPlan) daemonConfig(root, state string) (string, error) {
	if p.variant != nil {
		return p.variant.daemonConfig(root, state)
	}
	return p.strategy.daemonConfig(root, state), nil
}

// armRunner runs arms below one parent group.
type armRunner struct {
	fsys    *cgroup.FS
	parent  string // the bench's group, relative to the mount
	out     string
	sc      Scenario
	timeout time.Duration
	rt      sessionRuntime
	log     *slog.Logger
}

// replayWorker makes the replay worker's command (memqos trace replay-worker).
type replayWorker = func(args []string) *exec.Cmd

// run runs one arm and writes its files; what went wrong is in Arm.Error.
func (ar *armRunner) run(ctx context.Context, p armPlan) *Arm {
	dir := filepath.Join(ar.out, RunsDir, fmt.Sprint(p.run), p.name)
	a := &Arm{Format: ArmFormat, Name: p.name, Run: p.run, Order: p.order, Started: time.Now().UTC().Format(time.RFC3339)}
	for _, s := range p.sessions {
		m := s.Member
		for knob, v := range s.limits {
			if m.Limits == nil {
				m.Limits = map[string]int64{}
			}
			m.Limits[knob] = int64(v)
		}
		a.Members = append(a.Members, m)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		a.Error = err.Error()
		return a
	}
	if err := ar.runIn(ctx, p, dir, a); err != nil {
		a.Error = err.Error()
		ar.log.Warn("arm failed", "run", p.run, "arm", p.name, "err", err)
	}
	if err := writeJSON(filepath.Join(dir, ArmFile), a); err != nil && a.Error == "" {
		a.Error = err.Error()
	}
	return a
}

func (ar *armRunner) runIn(ctx context.Context, p armPlan, dir string, a *Arm) (err error) {
	rel := path.Join(ar.parent, fmt.Sprintf("r%d-%s", p.run, p.name))
	root, err := ar.setupGroups(rel, p)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, proc.RemoveGroup(root)) }()
	sessions, err := ar.prepare(ctx, root, p, dir)
	defer func() {
		for _, ps := range sessions {
			err = errors.Join(err, ps.release())
		}
	}()
	if err != nil {
		return err
	}
	groups := make([]*cgroup.Group, len(sessions))
	for i, ps := range sessions {
		groups[i] = ps.group()
		a.Members[i].Cgroup, a.Members[i].Container = groups[i].Name(), ps.container()
	}
	if p.runsDaemon() {
		rd, err := startDaemon(ctx, ar.fsys, p, root.Path(), dir, len(p.sessions))
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, ar.stopDaemon(rd, groups, p, dir, a)) }()
	}
	before, err := root.MemoryEvents()
	if err != nil {
		return err
	}
	tl := startTimeline(root, p.sessions, groups)
	start := time.Now()
	results := ar.replayAll(ctx, p, sessions)
	a.WallS = time.Since(start).Seconds()
	a.Timeline = tl.stop()
	after, err := root.MemoryEvents()
	if err != nil {
		return err
	}
	a.RootEventsDelta = after.Sub(before)
	a.RootPeakBytes, _ = root.MemoryPeak()
	var errs []error
	for i, s := range p.sessions {
		if results[i] == nil {
			continue
		}
		a.Members[i].Result = s.Name + ".json"
		errs = append(errs, writeJSON(filepath.Join(dir, a.Members[i].Result), results[i]))
	}
	return errors.Join(errs...)
}

// prepare readies every session of p in its class group, through the
// runtime, and sets the strategy's limits on the session's group. On error
// it returns the sessions prepared so far, for the caller to release.
func (ar *armRunner) prepare(ctx context.Context, root *cgroup.Group, p armPlan, dir string) ([]preparedSession, error) {
	var out []preparedSession
	for _, s := range p.sessions {
		ps, err := ar.rt.prepare(ctx, root.Child(s.Class), s.Name, ar.spec(s, dir))
		if err != nil {
			return out, fmt.Errorf("session %s: %w", s.Name, err)
		}
		out = append(out, ps)
		for knob, v := range s.limits {
			if err := ps.group().SetLimit(knob, v); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// spec is how session s replays: the scenario's speed and base unless s
// overrides them.
func (ar *armRunner) spec(s *session, dir string) replaySpec {
	sp := replaySpec{tr: s.tr, speed: ar.sc.Speed, base: ar.sc.BaseBytes, noTHP: !ar.sc.THP,
		dir: dir, result: s.Name + ".json", log: ar.replayLog(s.Name)}
	if s.speed != 0 {
		sp.speed = s.speed
	}
	if s.noBase {
		sp.base = 0
	}
	return sp
}

// stopDaemon reads the daemon's counters into a, stops it, and checks that
// it restored every knob.
func (ar *armRunner) stopDaemon(rd *runningDaemon, groups []*cgroup.Group, p armPlan, dir string, a *Arm) error {
	rep, text := rd.report()
	err := rd.stop()
	if err == nil {
		err = restored(groups, p, rd.state)
	}
	rep.Restored = err == nil
	if err != nil {
		rep.Error = err.Error()
	}
	a.Daemon = rep
	return os.WriteFile(filepath.Join(dir, "metrics.txt"), text, 0o644)
}

// setupGroups creates the arm's parent with the scenario's limit, and a
// group per class, where the runtime puts the sessions. On error it
// removes what it created.
func (ar *armRunner) setupGroups(rel string, p armPlan) (root *cgroup.Group, err error) {
	if root, err = ar.fsys.CreateEnabled(rel); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, proc.RemoveGroup(root))
		}
	}()
	if ar.sc.TotalBytes > 0 {
		if err := root.SetLimit(cgroup.MemoryMax, cgroup.Limit(ar.sc.TotalBytes)); err != nil {
			return root, err
		}
	}
	if !ar.sc.Swap {
		// No swap configured means no memory.swap.max file: nothing to turn off.
		if err := root.Set("memory.swap.max", "0"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return root, err
		}
	}
	for _, s := range p.sessions {
		if _, err := ar.fsys.CreateEnabled(path.Join(rel, s.Class)); err != nil {
			return root, err
		}
	}
	return root, nil
}

// replayAll runs every prepared session, at once (or one after the other
// when p.sequential); idle sessions hold their memory until the others
// end. A session's result is nil only if its replay could not start.
func (ar *armRunner) replayAll(ctx context.Context, p armPlan, sessions []preparedSession) []*replay.Result {
	ctx, cancel := context.WithTimeout(ctx, ar.timeout)
	defer cancel()
	idleCtx, stopIdle := context.WithCancel(ctx)
	defer stopIdle()
	results := make([]*replay.Result, len(p.sessions))
	var busy, idle sync.WaitGroup
	for i, s := range p.sessions {
		ps := sessions[i]
		one := func(ctx context.Context) {
			r, err := ps.run(ctx)
			if err != nil {
				ar.log.Warn("replay did not start", "session", s.Name, "err", err)
			}
			results[i] = r
		}
		switch {
		case s.idle:
			idle.Go(func() { one(idleCtx) })
			waitFootprint(ctx, ps.group(), s.tr.Samples[0].Total+ar.sc.BaseBytes)
		case p.sequential:
			one(ctx)
		default:
			busy.Go(func() { one(ctx) })
		}
	}
	busy.Wait()
	stopIdle()
	idle.Wait()
	return results
}

// replayLog is the replays' logger: a replay logs its start and end at
// info level, which only --log-level debug shows in a bench.
func (ar *armRunner) replayLog(session string) *slog.Logger {
	if !ar.log.Enabled(context.Background(), slog.LevelDebug) {
		return nil
	}
	return ar.log.With("session", session)
}

// waitFootprint waits until g holds nearly want bytes: an idle session
// has its memory before the busy ones start.
func waitFootprint(ctx context.Context, g *cgroup.Group, want int64) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if cur, err := g.MemoryCurrent(); err == nil && float64(cur) >= 0.95*float64(want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// restored checks that no knob the daemon set outlived it: every session
// whose group still exists has the limits the strategy gave it and no
// protection, and the daemon's state file lists no knob left changed. A
// container's group goes with the container, and with it its knobs.
func restored(groups []*cgroup.Group, p armPlan, state string) error {
	var errs []error
	for i, s := range p.sessions {
		g := groups[i]
		if !g.Exists() {
			continue
		}
		for _, knob := range []string{cgroup.MemoryHigh, cgroup.MemoryLow, cgroup.MemoryMin} {
			want := cgroup.Unlimited
			if knob != cgroup.MemoryHigh {
				want = 0
			}
			if v, ok := s.limits[knob]; ok {
				want = v
			}
			got, err := g.Limit(knob)
			if err != nil && g.Exists() {
				errs = append(errs, err)
			} else if err == nil && got != want {
				errs = append(errs, fmt.Errorf("%s %s is %v after the daemon stopped, want %v", g.Name(), knob, got, want))
			}
		}
	}
	j, err := journal.Open(state)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, e := range j.Entries() {
		errs = append(errs, fmt.Errorf("the daemon's state file still lists %s %s (original %q) after it stopped", e.Cgroup, e.File, e.Original))
	}
	return errors.Join(errs...)
}
