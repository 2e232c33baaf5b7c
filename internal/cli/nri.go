package cli

import (
	"fmt"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/nri"
	"github.com/spf13/cobra"
)

func newNRICmd(g *globals) *cobra.Command {
	var (
		path, cgRoot, socket string
		dry                  bool
	)
	cmd := &cobra.Command{
		Use:   "nri --config FILE [--socket PATH]",
		Short: "Run the daemon as an NRI plugin of containerd or CRI-O (Kubernetes nodes)",
		Long: `Run the memqos daemon as a node agent: an NRI plugin of the container
runtime. Each pod gets a class from its memqos.io/class annotation, else its
priority class, else its QoS class (the configuration's nri section), and its
containers are governed as members of that class until they stop. When memqos
starts it learns every running pod from the runtime; when the runtime
restarts, it connects again. See docs/kubernetes.md.

Everything else is as in memqos daemon: the journal and restore, SIGHUP
reload, metrics (with memqos_nri_* series), /healthz and /status.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(path)
			if err != nil {
				return err
			}
			if cfg.NRI == nil {
				return fmt.Errorf("%s: no nri section: memqos nri classifies pods by the rules there (an empty `nri: {}` takes the defaults; see docs/kubernetes.md)", path)
			}
			if socket != "" {
				cfg.NRI.Socket = socket
			}
			d, log, err := newDaemon(g, cfg, cgRoot, dry)
			if err != nil {
				return err
			}
			p, err := nri.New(cfg, d, log)
			if err != nil {
				return err
			}
			if err := d.Register(p.Collectors()...); err != nil {
				return err
			}
			reload := func(next *config.Config) {
				if next.NRI == nil {
					log.Error("reload rejected: the configuration has no nri section; the running configuration stays in force", "config", path)
					return
				}
				if socket != "" {
					next.NRI.Socket = socket
				}
				d.Reload(next)
				p.Reload(next)
			}
			return runDaemonWith(cmd.Context(), d, path, cfg, log, reload, p.Run)
		},
	}
	f := cmd.Flags()
	f.StringVar(&path, "config", "", "configuration file with an nri section (YAML; see docs/config.md)")
	f.StringVar(&socket, "socket", "", "the runtime's NRI socket (default: the configuration's nri.socket)")
	f.BoolVar(&dry, "dry-run", false, "log every decision and change nothing")
	f.StringVar(&cgRoot, "cgroup-root", cgroup.DefaultRoot, "where cgroup v2 is mounted")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}
