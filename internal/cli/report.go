package cli

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/memqos/memqos/internal/bench"
	"github.com/memqos/memqos/internal/report"
	"github.com/spf13/cobra"
)

func newReportCmd(g *globals) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "report DIR [-o OUT]",
		Short: "Render a bench results directory as markdown tables and SVG plots",
		Long: `Read the results directory of memqos bench isolation or bench overhead and
write OUT/report.md (markdown tables) and SVG plots beside it: per-strategy
bars with 95 % confidence intervals, latency CDFs per class, and a memory
timeline per arm. It needs only the files, on any host. The summary table
goes to stdout. OUT defaults to DIR/report. The metrics are defined in the
documentation of package internal/report (go doc ./internal/report).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, s, err := loadSummary(args[0])
			if err != nil {
				return err
			}
			if out == "" {
				out = filepath.Join(args[0], "report")
			}
			files, err := report.Write(out, r, s)
			if err != nil {
				return err
			}
			if err := report.SummaryTable(g.stdout, s); err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stderr, "wrote %d files to %s\n", len(files), out)
			return err
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "directory for report.md and the plots (default DIR/report)")
	return cmd
}

// printBenchSummary prints the summary table of a results directory, and
// where its full report comes from.
func printBenchSummary(stdout, stderr io.Writer, dir string) error {
	_, s, err := loadSummary(dir)
	if err != nil {
		return err
	}
	if err := report.SummaryTable(stdout, s); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stderr, "results in %s; memqos report %s renders the tables and plots\n", dir, dir)
	return err
}

// loadSummary loads a results directory and analyzes it.
func loadSummary(dir string) (*bench.Results, *report.Summary, error) {
	r, err := bench.Load(dir)
	if err != nil {
		return nil, nil, err
	}
	s, err := report.Analyze(r)
	return r, s, err
}
