package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/memqos/memqos/internal/bench"
)

// SummaryTable writes s's main comparison as aligned plain text, for a
// terminal: one row per strategy (isolation), or one row per strategy and
// metric (overhead), then the number of failures if any.
func SummaryTable(w io.Writer, s *Summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if s.Kind == bench.KindOverhead {
		overheadTable(tw, s)
	} else {
		isolationTable(tw, s)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if n := len(s.Failures); n > 0 {
		_, err := fmt.Fprintf(w, "%s: see the report\n", count(n, "failure"))
		return err
	}
	return nil
}

func line(w io.Writer, cells ...string) { fmt.Fprintln(w, strings.Join(cells, "\t")) }

// isolationTable shows LOW throughput only when an arm has it (the work
// conservation scenario).
func isolationTable(w io.Writer, s *Summary) {
	thr := slices.ContainsFunc(s.Arms, func(a ArmSummary) bool { return a.Throughput.OK() })
	head := []string{"STRATEGY", "HIGH SLOWDOWN", "HIGH ALLOC TIME", "HIGH P95 GROW", "LOW SURVIVAL", "LOW SLOWDOWN", "LOW ALLOC TIME"}
	if thr {
		head = append(head, "LOW THROUGHPUT")
	}
	line(w, head...)
	for _, a := range s.Arms {
		if a.Baseline {
			continue
		}
		cells := []string{a.Name, slowdown(a.HighSlowdown), slowdown(a.HighAllocSlowdown), p95ms(a.Latency["high"]),
			survival(a), slowdown(a.LowSlowdown), slowdown(a.LowAllocSlowdown)}
		if thr {
			cells = append(cells, plusMinus(a.Throughput, 1, 3, false))
		}
		line(w, cells...)
	}
}

func overheadTable(w io.Writer, s *Summary) {
	line(w, "STRATEGY", "METRIC", "NONE", "STRATEGY", "DIFFERENCE", "VERDICT")
	for _, o := range s.Overhead {
		for _, d := range o.Metrics {
			line(w, o.Name, d.Metric+" ("+d.Unit+")", plusMinus(d.None, 1, 1, false),
				plusMinus(d.Strategy, 1, 1, false), percent(d.Pct), verdict(d))
		}
	}
}

// p95ms is a latency's P95 in ms, or n/a.
func p95ms(l Latency) string {
	if l.N == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f ms", l.P95/1000)
}

// count returns "1 thing" or "N things".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
