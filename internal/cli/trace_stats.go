package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/memqos/memqos/internal/stats"
	"github.com/memqos/memqos/internal/trace"
	"github.com/spf13/cobra"
)

func newTraceStatsCmd(g *globals) *cobra.Command {
	var asJSON, together bool
	var baseMB, limitMB float64
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

With --together, it also describes the traces replayed at once, as the
isolation bench replays its sessions (name a trace twice for two sessions
of it): each starts at time 0 with --base-mb added to every sample, holds
each sample until the next and frees everything after its last. It prints
the peak of their sum, and how long (in trace time; at N× divide by N) and
by how much the sum is above --limit-mb: the memory someone must do
without, for that long, if no session is OOM-killed and nothing is
swapped. No isolation policy can make that wait disappear, only move it.

With --json, memory is in bytes and durations in seconds; with --together
the output is an object with "traces" and "together".`, strings.Join(trace.BuiltinNames(), ", "), trace.BurstFactor),
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case !together && (cmd.Flags().Changed("base-mb") || cmd.Flags().Changed("limit-mb")):
				return errors.New("--base-mb and --limit-mb describe the traces together: give --together")
			case baseMB < 0 || limitMB < 0:
				return errors.New("--base-mb and --limit-mb must be 0 or more")
			}
			all, traces, err := traceStats(args)
			if err != nil {
				return err
			}
			var tg *trace.Together
			if together {
				t, err := trace.ComputeTogether(traces, int64(baseMB*1e6), int64(limitMB*1e6))
				if err != nil {
					return err
				}
				tg = &t
			}
			if asJSON {
				return writeStatsJSON(g.stdout, all, tg, int64(limitMB*1e6))
			}
			if err := writeStatsTable(g.stdout, all); err != nil {
				return err
			}
			if tg != nil {
				return writeTogether(g.stdout, *tg, len(traces), baseMB, limitMB)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	cmd.Flags().BoolVar(&together, "together", false, "also describe the traces replayed at once")
	cmd.Flags().Float64Var(&baseMB, "base-mb", 0, "with --together: memory added to every sample, in decimal MB (1 MB = 10^6 bytes), as bench --base-mb")
	cmd.Flags().Float64Var(&limitMB, "limit-mb", 0, "with --together: the limit the sum is compared with, in decimal MB, as bench --total-mb")
	return cmd
}

// traceStats loads each trace reference and computes its statistics.
func traceStats(refs []string) ([]trace.Stats, []*trace.Trace, error) {
	all := make([]trace.Stats, 0, len(refs))
	var traces []*trace.Trace
	for _, ref := range refs {
		t, err := trace.LoadRef(ref)
		if err != nil {
			return nil, nil, err
		}
		st, err := trace.ComputeStats(t)
		if err != nil {
			return nil, nil, err
		}
		all, traces = append(all, st), append(traces, t)
	}
	return all, traces, nil
}

// writeTogether describes n traces replayed at once.
func writeTogether(w io.Writer, tg trace.Together, n int, baseMB, limitMB float64) error {
	_, err := fmt.Fprintf(w, "\ntogether (%d traces from time 0, +%g MB each): peak %.1f MB at %.1fs", n, baseMB,
		float64(tg.PeakBytes)/1e6, tg.PeakAt.Seconds())
	if err == nil && limitMB > 0 {
		_, err = fmt.Fprintf(w, "; above %g MB for %.1fs of trace time, by up to %.1f MB", limitMB, tg.Over.Seconds(), float64(tg.ExcessBytes)/1e6)
	}
	if err == nil {
		_, err = fmt.Fprintln(w)
	}
	return err
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

// togetherJSON is --together in the --json output.
type togetherJSON struct {
	PeakBytes   int64   `json:"peak_bytes"`
	PeakAtS     float64 `json:"peak_at_s"`
	LimitBytes  int64   `json:"limit_bytes,omitempty"`
	OverS       float64 `json:"over_s"`
	ExcessBytes int64   `json:"excess_bytes"`
}

func writeStatsJSON(w io.Writer, all []trace.Stats, tg *trace.Together, limit int64) error {
	out := make([]statsJSON, 0, len(all))
	for _, s := range all {
		out = append(out, statsJSON{
			Trace: s.Name, Samples: s.Samples, DurationSeconds: s.Duration.Seconds(),
			TotalBytes: s.Total, PeakToMean: s.PeakToMean,
			BurstThresholdBytes: s.BurstThreshold, Bursts: s.Bursts,
		})
	}
	if tg == nil {
		return writeJSON(w, out)
	}
	return writeJSON(w, struct {
		Traces   []statsJSON  `json:"traces"`
		Together togetherJSON `json:"together"`
	}{out, togetherJSON{tg.PeakBytes, tg.PeakAt.Seconds(), limit, tg.Over.Seconds(), tg.ExcessBytes}})
}
