package cli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/thp"
	"github.com/spf13/cobra"
)

func newRunCmd(g *globals) *cobra.Command {
	var (
		path   string
		create bool
		noTHP  bool
	)
	cmd := &cobra.Command{
		Use:   "run --cgroup PATH [--create] [--no-thp] -- CMD [ARGS...]",
		Short: "Start a command directly inside a cgroup, optionally without THP",
		Long: `Start CMD directly inside the cgroup v2 group PATH (relative to
/sys/fs/cgroup), so that every page it allocates is charged there, wait for
it, and exit with its status (128+N if killed by signal N).

--no-thp disables transparent huge pages for CMD and everything it starts
(PR_SET_THP_DISABLE). Use it for LOW workloads: THP faults are charged
without blocking, so the memcg_bpf_ops charge delay never applies to them.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fsys, err := cgroup.Open("")
			if err != nil {
				return err
			}
			grp := fsys.Group(path)
			if create && !grp.Exists() {
				if grp, err = fsys.Create(path); err != nil {
					return err
				}
			}
			if !grp.Exists() {
				return fmt.Errorf("cgroup %s does not exist (use --create)", grp.Path())
			}
			if noTHP {
				if err := thp.DisableForProcess(); err != nil {
					return err
				}
			}
			return runIn(grp, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&path, "cgroup", "", "cgroup v2 group, relative to /sys/fs/cgroup (required)")
	f.BoolVar(&create, "create", false, "create the group if it does not exist")
	f.BoolVar(&noTHP, "no-thp", false, "disable transparent huge pages for CMD and its children")
	_ = cmd.MarkFlagRequired("cgroup")
	return cmd
}

// runIn runs argv inside grp, forwarding SIGINT and SIGTERM, and returns an
// ExitError carrying its status.
func runIn(grp *cgroup.Group, argv []string) error {
	c := exec.Command(argv[0], argv[1:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := grp.Start(c); err != nil {
		return err
	}
	go func() {
		for s := range sigs {
			c.Process.Signal(s)
		}
	}()
	err := c.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return &ExitError{Code: exitStatus(exit.ProcessState)}
	}
	return err
}

// exitStatus is a shell's view of a process's end: its exit code, or 128+N
// when signal N killed it.
func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}
