// Package daemon is memqos's controller: it owns a cgroup subtree, finds
// the member cgroups of each priority class as they appear, takes a
// snapshot of them, lets internal/policy decide, and carries out the plan
// through a backend (structops or cgroupfs). Every knob it changes is in
// its journal (the state file) before the change, so that a daemon that
// starts after a crash, or stops on a signal, restores them all.
//
// It logs every decision as a slog event, serves Prometheus metrics,
// /healthz and /status, and reloads its configuration on request.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/policy"
)

// Tick intervals: the loop takes a snapshot this often, sooner when a
// detector or the tree watcher wakes it.
const (
	idleTick   = 500 * time.Millisecond
	activeTick = 100 * time.Millisecond
)

// Options configure a Daemon.
type Options struct {
	Config *config.Config
	FS     *cgroup.FS
	// DryRun logs every decision and changes nothing.
	DryRun bool
	Logger *slog.Logger
	// Backend, if set, opens the backend instead of the one the
	// configuration selects (tests).
	Backend func(*config.Config) (backend, error)
	// Machine is the memory of the machine, the limit of a root with no
	// limit of its own; 0 reads /proc/meminfo.
	Machine uint64
}

// Daemon governs the classes of one configuration.
type Daemon struct {
	opts    Options
	cfg     *config.Config
	log     *slog.Logger
	root    *cgroup.Group
	knobs   *knobs
	be      backend
	engine  *policy.Engine
	metrics *metrics
	members map[string]*member // by path
	wake    chan struct{}
	reload  chan *config.Config
	onsets  map[string]time.Time // pressure onset per HIGH class, until acted on
	retry   atomic.Bool          // a member could not be governed: rescan at the next tick

	mu     sync.Mutex
	status Status

	amu      sync.Mutex // guards assigned
	assigned assigned

	live liveness // the lease the loop renews (lease.go)
}

// retryPending reports whether the last scan left a member ungoverned.
func (d *Daemon) retryPending() bool { return d.retry.Load() }

// New prepares a daemon: it opens the journal, restores what a previous
// daemon left changed, creates the root and the class groups with their
// controllers, and sets up the backend. Nothing is governed before Run.
func New(opts Options) (*Daemon, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	d := &Daemon{opts: opts, cfg: opts.Config, log: opts.Logger, members: map[string]*member{},
		wake: make(chan struct{}, 1), reload: make(chan *config.Config, 1), onsets: map[string]time.Time{},
		assigned: assigned{byPath: map[string]Assignment{}, outside: map[string]bool{}}}
	d.live.start = time.Now()
	d.metrics = newMetrics()
	j, err := OpenJournal(d.cfg.State)
	if err != nil {
		return nil, err
	}
	d.knobs = &knobs{fs: opts.FS, journal: j, dry: opts.DryRun, log: d.log, writes: d.metrics.knobWrite}
	if left := j.Entries(); len(left) > 0 {
		d.log.Warn("restoring knobs a previous memqos daemon left changed", "count", len(left), "state", d.cfg.State)
		if err := d.knobs.restoreAll("left by a previous daemon"); err != nil {
			return nil, fmt.Errorf("restore the previous daemon's knobs: %w", err)
		}
	}
	if err := d.setup(); err != nil {
		return nil, err
	}
	return d, nil
}

// rootPath returns the configured root relative to the cgroup mount.
func rootPath(cfg *config.Config) string {
	return strings.Trim(strings.TrimPrefix(cfg.Root, cgroup.DefaultRoot), "/")
}

// setup creates the root and class groups, enables controllers down to
// the classes, and chooses the backend.
func (d *Daemon) setup() error {
	d.root = d.opts.FS.Group(rootPath(d.cfg))
	if d.opts.DryRun && !d.root.Exists() {
		return fmt.Errorf("dry run: the root %s does not exist, so there is nothing to govern (create it, or run once without --dry-run)", d.root.Path())
	}
	if err := d.ensureGroup(d.root); err != nil {
		return err
	}
	for _, c := range d.cfg.Classes {
		if d.external() {
			break // members are assigned wherever they are: no class groups
		}
		if err := d.ensureGroup(d.root.Child(c.Name)); err != nil {
			return err
		}
	}
	open := d.opts.Backend
	if open == nil {
		open = func(cfg *config.Config) (backend, error) { return openBackend(cfg, d.opts.FS, d.root, d.log) }
	}
	be, err := open(d.cfg)
	if err != nil {
		return err
	}
	eng, err := policy.New(d.cfg, be.mode())
	if err != nil {
		be.close()
		return err
	}
	d.be = be
	d.engine = eng
	d.metrics.declare(d.cfg)
	d.log.Info("backend", "name", be.name(), "root", d.root.Path(), "dry_run", d.opts.DryRun)
	return nil
}

// classKnobs writes each class group's cpu.weight: how the class shares
// CPU with the other classes under the root (members' weights only share
// the class's part among themselves). Without the cpu controller there is
// no cpu.weight, and classes share CPU as the kernel decides.
func (d *Daemon) classKnobs() error {
	var errs []error
	for _, c := range d.cfg.Classes {
		if d.external() {
			break // no class groups
		}
		g := d.root.Child(c.Name)
		if c.CPUWeight == 0 || (d.opts.DryRun && !g.Exists()) {
			continue
		}
		err := d.knobs.set(g.Name(), "cpu.weight", strconv.FormatUint(c.CPUWeight, 10), "class "+c.Name+" CPU share")
		if errors.Is(err, fs.ErrNotExist) {
			d.log.Warn("no cpu controller: the class's cpu_weight applies to its members only", "cgroup", g.Name())
			continue
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ensureGroup creates g if missing (not in dry run) and enables, from the
// cgroup mount down to g, the controllers memqos uses for g's children.
func (d *Daemon) ensureGroup(g *cgroup.Group) error {
	if !g.Exists() {
		if d.opts.DryRun {
			d.log.Info("decision", "action", "mkdir", "cgroup", g.Name(), "dry_run", true)
			return nil
		}
		if _, err := d.opts.FS.Create(g.Name()); err != nil {
			return err
		}
	}
	return d.enableDown(g)
}

// enableDown enables memory (and cpu and io where available) in the
// subtree_control of g and each ancestor below the mount.
func (d *Daemon) enableDown(g *cgroup.Group) error {
	var chain []*cgroup.Group
	for p := g; !p.IsRoot(); p = p.Parent() {
		chain = append([]*cgroup.Group{p}, chain...)
	}
	parent := d.opts.FS.Group("")
	for _, c := range chain {
		for _, ctrl := range []string{"memory", "cpu", "io"} {
			if err := enableIn(parent, ctrl, ctrl == "memory", d.opts.DryRun); err != nil {
				return err
			}
		}
		parent = c
	}
	for _, ctrl := range []string{"memory", "cpu", "io"} {
		if err := enableIn(g, ctrl, ctrl == "memory", d.opts.DryRun); err != nil {
			return err
		}
	}
	return nil
}

// enableIn enables ctrl for g's children if g has it; a missing optional
// controller is skipped.
func enableIn(g *cgroup.Group, ctrl string, required, dry bool) error {
	if !g.Exists() {
		return nil // dry run: not created
	}
	have, err := g.SubtreeControl()
	if err != nil {
		return err
	}
	if slices.Contains(have, ctrl) {
		return nil
	}
	avail, err := g.Controllers()
	if err != nil {
		return err
	}
	if !slices.Contains(avail, ctrl) {
		if required {
			return fmt.Errorf("cgroup %s has no %s controller: enable it in its parent's cgroup.subtree_control", g.Path(), ctrl)
		}
		return nil
	}
	if dry {
		return nil
	}
	err = g.EnableControllers(ctrl)
	if err != nil && !required {
		return nil // e.g. io without a block device; weights will say so
	}
	return err
}

// Reload replaces the configuration; Run applies it at its next turn. The
// caller has parsed and validated cfg: a bad file never reaches here.
func (d *Daemon) Reload(cfg *config.Config) {
	select {
	case d.reload <- cfg:
	default:
		<-d.reload
		d.reload <- cfg
	}
}

// Run governs the members until ctx is done, then restores every knob it
// changed and detaches everything.
func (d *Daemon) Run(ctx context.Context) error {
	defer d.be.close()
	err := d.loop(ctx)
	notify(sdStopping)
	return errors.Join(err, d.shutdown("daemon stopping"))
}

func (d *Daemon) loop(ctx context.Context) error {
	stopWatch, err := d.watchTree(ctx)
	if err != nil {
		return err
	}
	defer func() { stopWatch() }()
	if err := d.classKnobs(); err != nil {
		return err
	}
	if err := d.rescan(); err != nil {
		return err
	}
	notify(sdReady)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case cfg := <-d.reload:
			oldRoot := d.root.Name()
			notify(sdReloading)
			if err := d.applyReload(cfg); err != nil {
				return err
			}
			notify(sdReady)
			if d.root.Name() != oldRoot { // watch the new root instead
				stopWatch()
				next, err := d.watchTree(ctx)
				if err != nil {
					stopWatch = func() {}
					return err
				}
				stopWatch = next
			}
		case <-d.wake:
			if err := d.rescan(); err != nil {
				d.log.Error("scan members", "err", err)
			}
		case t := <-d.be.triggers():
			d.metrics.trigger(t.class)
		case <-timer.C:
			if d.retry.Load() {
				if err := d.rescan(); err != nil {
					d.log.Error("scan members", "err", err)
				}
			}
		}
		plan := d.tick()
		next := idleTick
		if plan.Near { // contended memory is near too
			next = activeTick
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(next)
	}
}

// applyReload restores everything and starts over with cfg.
func (d *Daemon) applyReload(cfg *config.Config) error {
	d.log.Info("reloading configuration", "root", cfg.Root, "classes", len(cfg.Classes))
	if err := d.shutdown("configuration reloaded"); err != nil {
		d.log.Error("restore before reload", "err", err)
	}
	d.be.close()
	old := d.cfg
	d.cfg = cfg
	if err := d.setup(); err != nil {
		d.log.Error("reload failed; the previous configuration is back in force", "err", err.Error())
		d.cfg = old
		if err := d.setup(); err != nil {
			return fmt.Errorf("reload failed, and so did going back to the previous configuration: %w", err)
		}
	}
	if err := d.classKnobs(); err != nil {
		d.log.Error("class CPU weights", "err", err)
	}
	return d.rescan()
}

// shutdown stops governing every member and restores every knob.
func (d *Daemon) shutdown(reason string) error {
	var errs []error
	for _, m := range d.members {
		errs = append(errs, d.be.remove(m))
	}
	d.members = map[string]*member{}
	errs = append(errs, d.knobs.restoreAll(reason))
	return errors.Join(errs...)
}

// memberPath returns the path of a cgroup below the root, relative to the
// mount.
func (d *Daemon) memberPath(rel string) string { return filepath.Join(d.root.Name(), rel) }
