package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"text/tabwriter"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/selftest"
	"github.com/spf13/cobra"
)

// workloadCmd names the hidden subcommand that runs a selftest child.
const workloadCmd = "selftest-workload"

func newSelftestCmd(g *globals) *cobra.Command {
	var (
		asJSON  bool
		o       selftest.Options
		limit   int64
		fileMiB int64
	)
	cmd := &cobra.Command{
		Use:   "selftest",
		Short: "Run the memcg_bpf_ops RFC's four selftests with memqos's own loader",
		Long: `Run the four upstream memcg_bpf_ops selftests on the running kernel:
over_high, below_low_over_high, below_min_over_high and hierarchies.

HIGH and LOW cgroups sit under a parent with memory.max and swap off; each
writes a 64 MiB file in --dir and mmap-reads it repeatedly; LOW's charges
are delayed 2000 ms while HIGH faults (threshold 1). A timing test passes
when LOW takes at least 1 s longer than HIGH; a failing timing test is run
again, up to --attempts times, and earlier failures are reported. --dir
must be on a real disk.

Exit status: 0 if all pass, 1 if any fails, 3 if the kernel has no
memcg_bpf_ops (every test unsupported), 125 if the tests could not run
(bad flags, cgroup v1 host, no privileges, --dir on tmpfs). Needs root.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fsys, err := cgroup.Open("")
			if err != nil {
				return err
			}
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			o.FS, o.Log, o.Limit, o.FileSize = fsys, g.logger(), limit<<20, fileMiB<<20
			o.Command = func(args []string) *exec.Cmd {
				return exec.Command(exe, append([]string{workloadCmd}, args...)...)
			}
			results, err := selftest.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			if asJSON {
				err = writeJSON(g.stdout, results)
			} else {
				err = writeSelftestTable(g.stdout, results)
			}
			return errors.Join(err, selftestExit(results))
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print the results as JSON")
	f.StringVar(&o.Dir, "dir", "/scratch", "directory on a real disk for the 64 MiB data files")
	f.Int64Var(&limit, "limit-mib", selftest.DefaultLimitMiB, "the parent group's memory.max, in MiB")
	f.Int64Var(&fileMiB, "file-size-mib", 64, "each child's file size, in MiB")
	f.IntVar(&o.Attempts, "attempts", selftest.DefaultAttempts, "run a failing timing test up to this many times")
	return cmd
}

func selftestExit(results []selftest.Result) error {
	unsupported := 0
	for _, r := range results {
		switch r.Status {
		case selftest.Fail:
			return &ExitError{Code: exitFailed}
		case selftest.Unsupported:
			unsupported++
		}
	}
	if unsupported > 0 {
		return &ExitError{Code: exitUnsupported}
	}
	return nil
}

func writeSelftestTable(w io.Writer, results []selftest.Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "test\tresult\tHIGH s\tLOW s\tLOW-HIGH s\tdelays × ms\trequested s\tLOW stall s\tOOM kills\tdetail")
	for _, r := range results {
		detail := r.Reason
		if r.Errno != "" {
			detail = "third attach refused: " + r.Errno
		}
		if len(r.EarlierFailures) > 0 {
			detail = strings.TrimSpace(fmt.Sprintf("attempt %d; earlier: %s. %s", r.Attempts, strings.Join(r.EarlierFailures, "; "), detail))
		}
		if r.Reads == 0 {
			fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\t\t\t%s\n", r.Name, r.Status, detail)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.2f\t%.2f\t%d × %d\t%.1f\t%.2f\t%d\t%s\n", r.Name, r.Status,
			r.HighSeconds, r.LowSeconds, r.ExtraSeconds, r.Delays, r.DelayMS, r.DelayRequested, r.LowStallSeconds, r.OOMKills, detail)
	}
	return tw.Flush()
}

func newSelftestWorkloadCmd() *cobra.Command {
	return newChildCmd(workloadCmd+" FILE SIZE READS", "Run one selftest child workload (used by memqos selftest)", selftest.WorkloadMain)
}
