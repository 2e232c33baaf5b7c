package cli

import (
	"fmt"
	"os"
	"os/exec"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/proc"
	"github.com/memqos/memqos/internal/thp"
	"github.com/spf13/cobra"
)

type runFlags struct {
	path, root    string
	create, noTHP bool
	class, config string
}

func newRunCmd(g *globals) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run (--cgroup PATH [--create] | --class NAME [--config FILE]) [--no-thp] CMD [ARGS...]",
		Short: "Start a command directly inside a cgroup or a class, optionally without THP",
		Long: `Start CMD directly inside the cgroup v2 group PATH, so that every page it
allocates is charged there, wait for it, and exit with its status (128+N if
killed by signal N). PATH is the group's full path (/sys/fs/cgroup/a/b) or
its path relative to the cgroup mount (a/b). Flags after CMD are CMD's own;
"--" before CMD is optional.

The group must have the memory controller. --create creates a missing
group and its parents, enabling memory, and every controller the parent
has, in the cgroup.subtree_control of each group above it; it fails with
an error naming the group where that is impossible.

--class NAME runs CMD in a new child group of the class NAME of the daemon
configuration --config (default /etc/memqos/memqos.yaml):
ROOT/NAME/memqos-run-PID, created with the class's memory_max and removed
when CMD exits. It works whether or not the daemon runs; a running daemon
picks the new group up as a member of the class. If CMD is OOM-killed,
memqos says so in one line: its peak, the limit it hit, and what to do.

--no-thp disables transparent huge pages for CMD and everything it starts
(PR_SET_THP_DISABLE). Use it for LOW workloads: THP faults are charged
without blocking, so the memcg_bpf_ops charge delay never applies to them.

CMD stays in memqos's process group: a Ctrl-C on the terminal reaches it
directly, and memqos waits for it. SIGTERM sent to memqos is forwarded.

Exit status: CMD's; 125 if memqos failed (no such group, cgroup v1 host, no
privileges); 126 if CMD cannot be executed; 127 if it is not found.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.class != "" {
				return runInClass(g, &f, args)
			}
			if f.path == "" {
				return fmt.Errorf("give --cgroup PATH or --class NAME")
			}
			return runCommand(&f, args)
		},
	}
	cmd.Flags().SetInterspersed(false)
	fl := cmd.Flags()
	fl.StringVar(&f.path, "cgroup", "", "cgroup v2 group: its full path, or its path relative to --cgroup-root (required)")
	fl.StringVar(&f.root, "cgroup-root", cgroup.DefaultRoot, "mount point of the cgroup v2 hierarchy")
	fl.BoolVar(&f.create, "create", false, "create the group, enabling memory for it, if it does not exist")
	fl.BoolVar(&f.noTHP, "no-thp", false, "disable transparent huge pages for CMD and its children")
	fl.StringVar(&f.class, "class", "", "run CMD in a new child group of this class of the daemon's configuration")
	fl.StringVar(&f.config, "config", defaultConfig, "the daemon's configuration, for --class")
	cmd.MarkFlagsMutuallyExclusive("cgroup", "class")
	cmd.MarkFlagsMutuallyExclusive("create", "class")
	return cmd
}

// runCommand runs args in the group of f and returns an ExitError with its
// status.
func runCommand(f *runFlags, args []string) error {
	if err := proc.Check(args); err != nil {
		return err
	}
	grp, err := runGroup(f)
	if err != nil {
		return err
	}
	st, err := runArgs(grp, f.noTHP, args)
	if err != nil {
		return err
	}
	return &ExitError{Code: st.Code}
}

// runArgs runs args in grp with memqos's standard streams, without
// transparent huge pages if noTHP, and returns how it ended.
func runArgs(grp *cgroup.Group, noTHP bool, args []string) (proc.Status, error) {
	if noTHP {
		if err := thp.DisableForProcess(); err != nil {
			return proc.Status{}, err
		}
	}
	c := exec.Command(args[0], args[1:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	return proc.Run(grp, c)
}

// runGroup returns the group of f, creating it with --create, after
// checking that it has the memory controller.
func runGroup(f *runFlags) (*cgroup.Group, error) {
	fsys, err := cgroup.Open(f.root)
	if err != nil {
		return nil, err
	}
	grp := fsys.Group(f.path)
	if f.create && !grp.Exists() {
		if grp, err = fsys.CreateEnabled(f.path); err != nil {
			return nil, err
		}
	}
	if !grp.Exists() {
		return nil, fmt.Errorf("cgroup %s does not exist (use --create)", grp.Path())
	}
	if _, err := grp.MemoryCurrent(); err != nil {
		return nil, fmt.Errorf("cgroup %s has no memory control: %w", grp.Path(), err)
	}
	return grp, nil
}
