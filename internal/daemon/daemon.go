// Package daemon is memqos's controller: it owns a cgroup subtree, follows
// the member cgroups of each priority class from a member source (the
// tree below the root, or the NRI plugin's assignments), takes a snapshot
// of them, lets internal/policy decide, and has the plan's intents carried
// out by the actuators it chose, with pressure reported by the detector it
// chose (internal/govern, plugins.go; docs/architecture.md). Every knob
// it changes is in its journal (internal/journal, the state file) before
// the change, so that a daemon that starts after a crash, or stops on a
// signal, restores them all.
//
// It logs every decision as a slog event, serves Prometheus metrics,
// /healthz and /status (internal/status has its client), and reloads its
// configuration on request.
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
	"sync"
	"sync/atomic"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/govern"
	"github.com/memqos/memqos/internal/journal"
	"github.com/memqos/memqos/internal/kernel"
	"github.com/memqos/memqos/internal/policy"
	"github.com/memqos/memqos/internal/status"
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
	// DryRun logs every decision and changes nothing: no knob, group or
	// controller is written, and nothing is loaded into the kernel.
	DryRun bool
	Logger *slog.Logger
	// Plugins, if set, opens the detector and actuators instead of the
	// ones the configuration and the host call for (tests). Their means
	// are what the policy plans with.
	Plugins func(cfg *config.Config, k govern.Knobs) (govern.Detector, []govern.Actuator, policy.Means, error)
	// TreeEvents, if set, is where the groups created and removed below
	// the root are reported instead of a tree watcher (tests).
	TreeEvents <-chan cgroup.TreeEvent
	// Now is the clock; nil is time.Now.
	Now func() time.Time
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
	knobs   knobWriter
	plugins *plugins
	pol     policy.Policy
	metrics *metrics
	members map[string]*govern.Member // by path
	src     memberSource
	wake    chan struct{}
	reload  chan *config.Config
	onsets  map[string]time.Time // pressure onset per HIGH class, until acted on
	retry   atomic.Bool          // a member could not be governed: scan again at the next tick
	hooks   bool                 // the last plan wanted the kernel's hooks in place

	mu     sync.Mutex
	status status.Status

	amu      sync.Mutex // guards assigned
	assigned assigned

	live liveness // the lease the loop renews (lease.go)
}

// retryPending reports whether the last scan left a member ungoverned.
func (d *Daemon) retryPending() bool { return d.retry.Load() }

// New prepares a daemon: it opens the journal, restores what a previous
// daemon left changed, creates the root and the class groups with their
// controllers, and opens the detector and actuators. Nothing is governed
// before Run.
func New(opts Options) (*Daemon, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	d := &Daemon{opts: opts, cfg: opts.Config, log: opts.Logger, members: map[string]*govern.Member{},
		wake: make(chan struct{}, 1), reload: make(chan *config.Config, 1), onsets: map[string]time.Time{},
		assigned: assigned{byPath: map[string]Assignment{}, outside: map[string]bool{}}}
	d.live.now = opts.Now
	d.metrics = newMetrics()
	j, err := journal.Open(d.cfg.State)
	if err != nil {
		return nil, err
	}
	// The one place that tells a dry run from a live one.
	d.knobs = &journaled{fs: opts.FS, journal: j, log: d.log, writes: d.metrics.knobWrite}
	if opts.DryRun {
		d.knobs = newDry(opts.FS, j, d.log)
	}
	if left := j.Entries(); len(left) > 0 {
		d.log.Warn("restoring knobs a previous memqos daemon left changed", "count", len(left), "state", d.cfg.State)
		if err := d.knobs.RestoreAll("left by a previous daemon"); err != nil {
			return nil, fmt.Errorf("restore the previous daemon's knobs: %w", err)
		}
	}
	if err := d.setup(); err != nil {
		return nil, err
	}
	return d, nil
}

// setup creates the root and class groups, enables controllers down to
// the classes, and opens the plugins and the policy.
func (d *Daemon) setup() error {
	rel, err := d.opts.FS.Subtree(d.cfg.Root)
	if err != nil {
		return fmt.Errorf("root: %w", err)
	}
	d.root = d.opts.FS.Group(rel)
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
	p, err := d.openPlugins()
	if err != nil {
		return err
	}
	pol, err := policy.New(d.cfg, p.means)
	if err != nil {
		return errors.Join(err, p.close())
	}
	d.plugins, d.pol = p, pol
	d.metrics.declare(d.cfg)
	d.log.Info("backend", "name", p.backend(), "actuators", p.names(), "detector", p.det.Name(), "root", d.root.Path(), "dry_run", d.opts.DryRun)
	return nil
}

// openPlugins chooses the detector and actuators from the host's probe
// and the configuration, and opens them.
func (d *Daemon) openPlugins() (*plugins, error) {
	if d.opts.Plugins != nil {
		det, acts, means, err := d.opts.Plugins(d.cfg, d.knobs)
		if err != nil {
			return nil, err
		}
		return &plugins{choice: choice{means: means}, det: det, acts: acts}, nil
	}
	h := &kernel.Host{CgroupRoot: d.opts.FS.Root}
	ch, err := choose(d.cfg, h.Probe(), d.opts.DryRun)
	if err != nil {
		return nil, err
	}
	d.log.Info("plugins chosen", "backend", ch.name(), "why", ch.why)
	return ch.open(&env{cfg: d.cfg, root: d.root, knobs: d.knobs}, d.opts.DryRun, d.log)
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
		if c.CPUWeight == 0 || !g.Exists() { // a dry run creates no group
			continue
		}
		err := d.knobs.Set(g.Name(), cgroup.CPUWeight, strconv.FormatUint(c.CPUWeight, 10), "class "+c.Name+" CPU share")
		if errors.Is(err, fs.ErrNotExist) {
			d.log.Warn("no cpu controller: the class's cpu_weight applies to its members only", "cgroup", g.Name())
			continue
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ensureGroup creates g if missing and enables, from the cgroup mount
// down to g, the controllers memqos uses for g's children.
func (d *Daemon) ensureGroup(g *cgroup.Group) error {
	if !g.Exists() {
		if err := d.knobs.Create(d.opts.FS, g); err != nil {
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
			if err := d.enableIn(parent, ctrl, ctrl == "memory"); err != nil {
				return err
			}
		}
		parent = c
	}
	for _, ctrl := range []string{"memory", "cpu", "io"} {
		if err := d.enableIn(g, ctrl, ctrl == "memory"); err != nil {
			return err
		}
	}
	return nil
}

// enableIn enables ctrl for g's children if g has it; a missing optional
// controller is skipped.
func (d *Daemon) enableIn(g *cgroup.Group, ctrl string, required bool) error {
	if !g.Exists() {
		return nil // a dry run creates no group
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
	err = d.knobs.Enable(g, ctrl)
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
// changed and closes the plugins.
func (d *Daemon) Run(ctx context.Context) error {
	err := d.start()
	if err == nil {
		notify(sdReady)
		err = d.loop(ctx)
	}
	notify(sdStopping)
	return errors.Join(err, d.stop("daemon stopping"))
}

// start follows the members' source, writes the classes' knobs and
// governs the members there are.
func (d *Daemon) start() error {
	if err := d.openSource(); err != nil {
		return err
	}
	if err := d.classKnobs(); err != nil {
		return err
	}
	d.reconcile()
	return nil
}

// openSource follows the members of the configuration: assignments in
// the NRI mode, else the tree below the root.
func (d *Daemon) openSource() error {
	if d.external() {
		d.src = assignSource{d}
		return nil
	}
	src, err := newTreeSource(d.cfg, d.opts.FS, d.root, d.opts.TreeEvents)
	if err != nil {
		return fmt.Errorf("follow the groups below %s: %w", d.root.Path(), err)
	}
	d.src = src
	return nil
}

// stop stops governing every member, restores every knob and closes the
// source and the plugins.
func (d *Daemon) stop(reason string) error {
	err := d.shutdown(reason)
	if d.src != nil {
		d.src.close()
	}
	return errors.Join(err, d.plugins.close())
}

func (d *Daemon) loop(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	events := d.src.events()
	for {
		select {
		case <-ctx.Done():
			return nil
		case cfg := <-d.reload:
			notify(sdReloading)
			if err := d.applyReload(cfg); err != nil {
				return err
			}
			notify(sdReady)
			events = d.src.events()
		case ev, ok := <-events:
			if !ok {
				d.log.Error("cgroup tree watcher stopped: groups created from now on are not seen", "root", d.root.Path())
				events = nil
				break
			}
			d.src.seen(ev)
			d.drainEvents()
			d.reconcile()
		case <-d.wake:
			d.reconcile()
		case t := <-d.plugins.det.Triggers():
			d.metrics.trigger(t.Class)
		case <-timer.C:
			if d.retry.Load() {
				d.reconcile()
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

// step is one turn of the loop that waits for nothing: it takes the
// member changes and triggers already reported, scans, and ticks. Tests
// drive the daemon with it, on their own clock.
func (d *Daemon) step() policy.Plan {
	d.drainEvents()
	for {
		select {
		case t := <-d.plugins.det.Triggers():
			d.metrics.trigger(t.Class)
			continue
		default:
		}
		break
	}
	d.reconcile()
	return d.tick()
}

// drainEvents takes the member source's events already reported.
func (d *Daemon) drainEvents() {
	for {
		select {
		case ev, ok := <-d.src.events():
			if !ok {
				return
			}
			d.src.seen(ev)
		default:
			return
		}
	}
}

// applyReload restores everything and starts over with cfg.
func (d *Daemon) applyReload(cfg *config.Config) error {
	d.log.Info("reloading configuration", "root", cfg.Root, "classes", len(cfg.Classes))
	if err := d.stop("configuration reloaded"); err != nil {
		d.log.Error("restore before reload", "err", err)
	}
	old := d.cfg
	d.cfg = cfg
	if err := d.setup(); err != nil {
		d.log.Error("reload failed; the previous configuration is back in force", "err", err.Error())
		d.cfg = old
		if err := d.setup(); err != nil {
			return fmt.Errorf("reload failed, and so did going back to the previous configuration: %w", err)
		}
	}
	if err := d.openSource(); err != nil {
		return err
	}
	if err := d.classKnobs(); err != nil {
		d.log.Error("class CPU weights", "err", err)
	}
	d.reconcile()
	return nil
}

// shutdown stops governing every member and restores every knob.
func (d *Daemon) shutdown(reason string) error {
	var errs []error
	for _, m := range d.members {
		errs = append(errs, d.release(m))
	}
	d.members = map[string]*govern.Member{}
	errs = append(errs, d.knobs.RestoreAll(reason))
	return errors.Join(errs...)
}

// memberPath returns the path of a cgroup below the root, relative to the
// mount.
func (d *Daemon) memberPath(rel string) string { return filepath.Join(d.root.Name(), rel) }

// logErr logs err, if not nil, as an error with msg and args.
func (d *Daemon) logErr(msg string, err error, args ...any) {
	if err != nil {
		d.log.Error(msg, append(args, "err", err)...)
	}
}
