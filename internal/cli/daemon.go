package cli

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/daemon"
	"github.com/spf13/cobra"
)

func newDaemonCmd(g *globals) *cobra.Command {
	var (
		path   string
		dry    bool
		cgRoot string
	)
	cmd := &cobra.Command{
		Use:   "daemon --config FILE [--dry-run]",
		Short: "Apply a class policy to live cgroups until stopped",
		Long: `Own the cgroup subtree the configuration names, find the member cgroups of
each class as they appear (inotify), and keep HIGH classes fast while memory
is short by slowing LOW classes down: in the kernel with memcg_bpf_ops
(structops), or with memory.high/low/min (cgroupfs). See docs/config.md.

Every knob memqos changes is first recorded, with its original value, in
the state file; on SIGTERM or SIGINT, and when a later daemon starts after a
crash, every knob is restored. SIGHUP reloads the configuration: a file that
does not parse is rejected and the running configuration stays in force.
Decisions are logged as JSON on stderr; /metrics, /healthz and /status are
served on the state file's socket and on metrics.listen.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(path)
			if err != nil {
				return err
			}
			d, log, err := newDaemon(g, cfg, cgRoot, dry)
			if err != nil {
				return err
			}
			return runDaemon(cmd.Context(), d, path, cfg, log)
		},
	}
	f := cmd.Flags()
	f.StringVar(&path, "config", "", "configuration file (YAML; see docs/config.md)")
	f.BoolVar(&dry, "dry-run", false, "log every decision and change nothing")
	f.StringVar(&cgRoot, "cgroup-root", cgroup.DefaultRoot, "where cgroup v2 is mounted")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

// newDaemon opens the cgroup mount at cgRoot and prepares a daemon for
// cfg that logs JSON on stderr.
func newDaemon(g *globals, cfg *config.Config, cgRoot string, dry bool) (*daemon.Daemon, *slog.Logger, error) {
	fsys, err := cgroup.Open(cgRoot)
	if err != nil {
		return nil, nil, err
	}
	log := slog.New(slog.NewJSONHandler(g.stderr, &slog.HandlerOptions{Level: g.level}))
	d, err := daemon.New(daemon.Options{Config: cfg, FS: fsys, DryRun: dry, Logger: log})
	return d, log, err
}

// runDaemon serves and runs d until ctx ends, reloading path on SIGHUP.
func runDaemon(ctx context.Context, d *daemon.Daemon, path string, cfg *config.Config, log *slog.Logger) error {
	return runDaemonWith(ctx, d, path, cfg, log, d.Reload, nil)
}

// runDaemonWith is runDaemon with a reload function that gets each
// configuration reloaded on SIGHUP, and beside, if not nil, run along with
// the daemon until ctx ends.
func runDaemonWith(ctx context.Context, d *daemon.Daemon, path string, cfg *config.Config, log *slog.Logger,
	reload func(*config.Config), beside func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				next, err := config.Load(path)
				if err != nil {
					log.Error("reload rejected; the running configuration stays in force", "config", path, "err", err.Error())
					continue
				}
				reload(next)
			}
		}
	}()
	served := make(chan error, 1)
	go func() { served <- d.Serve(ctx, cfg.Metrics.Listen) }()
	other := make(chan error, 1)
	go func() {
		if beside == nil {
			other <- nil
			return
		}
		other <- beside(ctx)
	}()
	err := d.Run(ctx)
	cancel()
	return errors.Join(err, <-served, <-other)
}
