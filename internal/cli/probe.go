package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/memqos/memqos/internal/kernel"
	"github.com/spf13/cobra"
)

func newProbeCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "Report what this host's kernel offers memqos, and which backend it would use",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r := (&kernel.Host{}).Probe()
			if asJSON {
				return writeJSON(g.stdout, r)
			}
			return writeProbeTable(g.stdout, r)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func writeProbeTable(w io.Writer, r *kernel.Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "kernel\t%s\t\n", r.Kernel)
	row := func(name string, f kernel.Feature, extra string) {
		mark := "no"
		if f.OK {
			mark = "yes"
		}
		detail := strings.TrimSpace(strings.Join([]string{extra, f.Detail}, " "))
		fmt.Fprintf(tw, "%s\t%s\t%s\n", name, mark, detail)
	}
	row("cgroup v2", r.CgroupV2, strings.Join(r.Controllers, ","))
	row("PSI", r.PSI, "")
	row("BTF", r.BTF, "")
	row("memcg_bpf_ops", r.MemcgOps, "")
	pgfault := ""
	if r.PGFaultItem != nil {
		pgfault = fmt.Sprintf("(PGFAULT item %d)", *r.PGFaultItem)
	}
	row("count_memcg_events", r.Tracepoint, pgfault)
	row("struct_ops link", r.StructOpsLnk, "")
	row("privileges", r.Privileges, "")
	fmt.Fprintf(tw, "backend\t%s\t%s\n", r.Backend, r.BackendWhy)
	return tw.Flush()
}
