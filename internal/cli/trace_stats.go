package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/memqos/memqos/internal/stats"
	"github.com/memqos/memqos/internal/trace"
	"github.com/spf13/cobra"
)

func newTraceStatsCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats TRACE...",
		Short: "Print memory statistics of traces",
		Long: fmt.Sprintf(`Print, for each trace, the number of samples, the time from the first to
the last sample, and the mean, 95th percentile and peak of the total memory,
the peak-to-mean ratio and the number of bursts.

A TRACE is a file, native or podman stats, or builtin:NAME with NAME one of
%s.

Memory is in MB, decimal: 1 MB = 1,000,000 bytes. The mean is the sample
mean (every sample counts once). P95 interpolates linearly between the
closest ranks (type 7). A burst is a maximal run of consecutive samples
whose total memory is above %.1f times the trace's median.

With --json, memory is in bytes and durations in seconds.`, strings.Join(trace.BuiltinNames(), ", "), trace.BurstFactor),
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			all, err := traceStats(args)
			if err != nil {
				return err
			}
			if asJSON {
				return writeStatsJSON(g.stdout, all)
			}
			return writeStatsTable(g.stdout, all)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

// traceStats loads each trace reference and computes its statistics.
func traceStats(refs []string) ([]trace.Stats, error) {
	all := make([]trace.Stats, 0, len(refs))
	for _, ref := range refs {
		t, err := trace.LoadRef(ref)
		if err != nil {
			return nil, err
		}
		st, err := trace.ComputeStats(t)
		if err != nil {
			return nil, err
		}
		all = append(all, st)
	}
	return all, nil
}

func writeStatsTable(w io.Writer, all []trace.Stats) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TRACE\tSAMPLES\tDURATION\tMEAN(MB)\tP95(MB)\tPEAK(MB)\tPEAK/MEAN\tBURSTS")
	for _, s := range all {
		fmt.Fprintf(tw, "%s\t%d\t%.1fs\t%.1f\t%.1f\t%.1f\t%.2f\t%d\n", s.Name, s.Samples,
			s.Duration.Seconds(), s.Total.Mean/1e6, s.Total.P95/1e6, s.Total.Max/1e6, s.PeakToMean, s.Bursts)
	}
	return tw.Flush()
}

// statsJSON is one trace in the --json output.
type statsJSON struct {
	Trace               string        `json:"trace"`
	Samples             int           `json:"samples"`
	DurationSeconds     float64       `json:"duration_s"`
	TotalBytes          stats.Summary `json:"total_bytes"`
	PeakToMean          float64       `json:"peak_to_mean"`
	BurstThresholdBytes float64       `json:"burst_threshold_bytes"`
	Bursts              int           `json:"bursts"`
}

func writeStatsJSON(w io.Writer, all []trace.Stats) error {
	out := make([]statsJSON, 0, len(all))
	for _, s := range all {
		out = append(out, statsJSON{
			Trace: s.Name, Samples: s.Samples, DurationSeconds: s.Duration.Seconds(),
			TotalBytes: s.Total, PeakToMean: s.PeakToMean,
			BurstThresholdBytes: s.BurstThreshold, Bursts: s.Bursts,
		})
	}
	return writeJSON(w, out)
}
