package report

import (
	"fmt"
	"io"
	"math"
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
	if s.Kind == bench.KindIsolation {
		if err := againstReference(w, s); err != nil {
			return err
		}
		for _, o := range s.Outcomes {
			if _, err := fmt.Fprintln(w, outcomeText(o)); err != nil {
				return err
			}
		}
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
	head := []string{"STRATEGY", "HIGH STALL", "HIGH ALLOC TIME", "HIGH P95 GROW", "HIGH WALL", "LOW SURVIVAL", "LOW WALL", "LOW STALL"}
	if thr {
		head = append(head, "LOW THROUGHPUT")
	}
	line(w, head...)
	for _, a := range s.Arms {
		cells := []string{a.Name, ms(a.HighStallMS), slowdown(a.HighAllocSlowdown), p95ms(a.Latency["high"]),
			slowdown(a.HighSlowdown), survival(a), slowdown(a.LowSlowdown), ms(a.LowStallMS)}
		if a.Baseline {
			// A baseline is what the others are compared with: only its
			// own stall means something.
			cells = []string{a.Name, ms(a.HighStallMS), "", "", "", "", "", ms(a.LowStallMS)}
		}
		if thr {
			cells = append(cells, plusMinus(a.Throughput, 1, 3, false))
		}
		line(w, cells...)
	}
}

// againstReference writes the paired comparison of memqos's strategies
// with the reference: a verdict and a difference per column, then a
// sentence per strategy that says who wins and how sure.
func againstReference(w io.Writer, s *Summary) error {
	var ps []Paired
	for _, p := range s.Paired {
		if p.Memqos {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nAgainst the reference, paired by run (strategy − reference, mean ± 95%% CI; %s):\n", runsNote(ps))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := []string{"STRATEGY"}
	for _, m := range PairedMetrics {
		head = append(head, strings.ToUpper(m.Title))
	}
	line(tw, head...)
	for _, p := range ps {
		cells := []string{p.Strategy}
		for _, c := range p.Cells {
			cells = append(cells, pairedText(c))
		}
		line(tw, cells...)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range ps {
		if _, err := fmt.Fprintln(w, verdictSentence(p)); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w)
	return err
}

// runsNote says how many runs the comparison pairs, and what one run
// cannot tell.
func runsNote(ps []Paired) string {
	n := 0
	for _, p := range ps {
		for _, c := range p.Cells {
			n = max(n, c.Diff.N)
		}
	}
	if n == 0 {
		return "no run has both"
	}
	if n < 2 {
		return count(n, "run") + ": no interval, so no verdict; --runs 3 or more gives one"
	}
	return count(n, "run") + "; a verdict only where the interval excludes 0"
}

// pairedText is a cell of the comparison: "better −120 ± 40 ms".
func pairedText(c PairedCell) string {
	d := c.Diff
	if !d.OK() {
		return na
	}
	v := signed(d.Mean, c.Metric.Prec)
	if !math.IsNaN(d.HalfWidth) {
		v += " ± " + num(d.HalfWidth, c.Metric.Prec)
	}
	v += " " + c.Metric.Unit
	if vd := c.Verdict(); vd != NoVerdict {
		v = string(vd) + " " + v
	}
	return v
}

// verdictSentence sums a strategy's comparison up in words.
func verdictSentence(p Paired) string {
	by := map[Verdict][]string{}
	for _, c := range p.Cells {
		by[c.Verdict()] = append(by[c.Verdict()], c.Metric.Title)
	}
	if len(by[NoVerdict]) == len(p.Cells) {
		return p.Strategy + ": no verdict yet (too few runs)"
	}
	var parts []string
	for _, v := range []Verdict{Better, Worse, Tie, NoVerdict} {
		if names := by[v]; len(names) > 0 {
			label := string(v)
			if v == NoVerdict {
				label = "no data"
			}
			parts = append(parts, label+" on "+strings.Join(names, ", "))
		}
	}
	return p.Strategy + " against the reference: " + strings.Join(parts, "; ")
}

// outcomeText says what an outcome was, in words.
func outcomeText(o Outcome) string {
	s := fmt.Sprintf("%s: %d of %d %s sessions OOM-killed, in %d of %d runs", o.Arm, o.Killed, o.Sessions,
		strings.ToUpper(o.Class), o.KilledRuns, o.Runs)
	if o.Expected {
		s += fmt.Sprintf("; its memory.max (%s) is below its peak (%s): as expected, not a failure",
			megabytes(o.LimitBytes), megabytes(o.PeakBytes))
	}
	return s
}

// ms formats an estimate in ms: "120 ± 40 ms".
func ms(e Estimate) string {
	if !e.OK() {
		return na
	}
	return plusMinus(e, 1, 0, false) + " ms"
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
