package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/memqos/memqos/internal/bench"
)

// Markdown writes the report of r, whose analysis is s, as markdown. The
// plots it shows are the files Write puts beside it. The output depends on
// r and s only: arms in the manifest's order, fixed float formats.
func Markdown(w io.Writer, r *bench.Results, s *Summary) error {
	md := &mdWriter{}
	md.header(r, s)
	if s.Kind == bench.KindOverhead {
		md.overhead(s)
	} else {
		md.comparison(r, s)
		md.paired(s)
		md.outcomes(s)
		md.memory(s)
		md.latency(s)
		md.events(s)
	}
	md.failures(s)
	md.plots(plotsOf(r, s))
	_, err := io.WriteString(w, md.String())
	return err
}

type mdWriter struct{ strings.Builder }

func (md *mdWriter) f(format string, args ...any) { fmt.Fprintf(md, format, args...) }

// item writes a list item: "- **name**: value".
func (md *mdWriter) item(name, value string) { md.f("- **%s**: %s\n", name, value) }

// row writes a table row.
func (md *mdWriter) row(cells ...string) {
	md.f("| %s |\n", strings.Join(cells, " | "))
}

func (md *mdWriter) header(r *bench.Results, s *Summary) {
	m := r.Manifest
	sc := m.Scenario
	md.f("# memqos bench report: %s\n\n", sc.Title())
	md.item("kind", string(m.Kind))
	md.item("scenario", scenario(sc))
	md.item("HIGH traces", list(sc.High))
	if m.Kind == bench.KindOverhead {
		md.item("microbenchmark", fmt.Sprintf("%d allocations of %s", sc.MicroIterations, megabytes(sc.MicroBytes)))
	} else {
		md.item("LOW traces", list(sc.Low))
	}
	md.item("kernel", orNA(m.Kernel))
	md.item("sessions", runtime(m))
	if l := m.Lab; l != nil {
		md.item("lab", fmt.Sprintf("qemu %s %s, %d vCPUs, kernel %s; %s, %s discarded (guest crashed)",
			l.Accel, l.TCG, l.CPUs, l.Kernel, count(l.Boots, "guest"), count(len(m.Discarded), "arm")))
	}
	md.item("memqos", fmt.Sprintf("%s (commit %s)", orNA(m.Version), orNA(m.Commit)))
	md.item("runs", fmt.Sprintf("%d planned, %d with results; %s to %s", m.Runs, len(s.Runs), orNA(m.Started), orNA(m.Finished)))
	md.item("arms", list(m.Arms))
	for _, v := range m.Variants {
		md.f("- **variant %s**, the daemon on this configuration (root and state set by the bench):\n\n```yaml\n%s\n```\n", v.Name, strings.TrimRight(v.Config, "\n"))
	}
	md.f("\nEach run ran every arm once, in its own order, so that a drift of the machine over time favours no arm:\n\n")
	md.row("run", "arm order")
	md.row("---", "---")
	for _, run := range s.Runs {
		md.row(strconv.Itoa(run), strings.Join(armOrder(r, run), ", "))
	}
	md.f("\nEvery ± is the half-width of a 95 %% confidence interval over runs (Student's t); " +
		"n/a means no data, or one value only for an interval. The metrics are defined in the " +
		"documentation of package internal/report.\n")
}

// runtime says how the sessions ran; results from before the choice
// existed ran them as processes.
func runtime(m bench.Manifest) string {
	switch m.Runtime {
	case bench.PodmanRuntime:
		return fmt.Sprintf("podman containers (runtime podman, image %s)", orNA(m.Image))
	case bench.ProcessRuntime, "":
		return "processes (runtime process)"
	}
	return "runtime " + string(m.Runtime)
}

func scenario(sc bench.Scenario) string {
	s := fmt.Sprintf("limit %s, speed %s×, base %s, swap %s", megabytes(sc.TotalBytes),
		strconv.FormatFloat(sc.Speed, 'g', -1, 64), megabytes(sc.BaseBytes), onOff(sc.Swap))
	if sc.HighIdle {
		s += ", HIGH idle (work conservation)"
	}
	return s
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func list(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

func orNA(s string) string {
	if s == "" {
		return na
	}
	return s
}

// armOrder lists the arms of run in the order they ran.
func armOrder(r *bench.Results, run int) []string {
	var names []string
	for _, a := range r.Arms { // sorted by run, then order
		if a.Run == run {
			names = append(names, a.Name)
		}
	}
	return names
}

func (md *mdWriter) comparison(r *bench.Results, s *Summary) {
	md.f("\n## Isolation\n\n")
	cols := []string{"strategy", "HIGH stall (ms)", "HIGH slowdown vs solo", "HIGH alloc time vs solo", "LOW survival", "LOW slowdown vs alone",
		"LOW alloc time vs alone", "LOW stall (ms)", "HIGH wall (s)", "LOW wall (s)", "LOW/HIGH wall"}
	if r.Manifest.Scenario.HighIdle {
		cols = append(cols, "LOW throughput vs none")
	}
	md.row(cols...)
	md.row(slices.Repeat([]string{"---"}, len(cols))...)
	for _, a := range s.Arms {
		if a.Baseline {
			continue
		}
		cells := []string{a.Name, plusMinus(a.HighStallMS, 1, 0, false), slowdown(a.HighSlowdown), slowdown(a.HighAllocSlowdown), survival(a), slowdown(a.LowSlowdown),
			slowdown(a.LowAllocSlowdown), plusMinus(a.LowStallMS, 1, 0, false), plusMinus(a.HighWallS, 1, 2, false), plusMinus(a.LowWallS, 1, 2, false), plusMinus(a.PriorityRatio, 1, 2, false)}
		if r.Manifest.Scenario.HighIdle {
			cells = append(cells, plusMinus(a.Throughput, 1, 3, false))
		}
		md.row(cells...)
	}
	sh, sl := baseline(s, bench.SoloHigh), baseline(s, bench.SoloLow)
	md.f("\nBaselines: solo-high HIGH wall %s s, stall %s ms; solo-low LOW wall %s s, stall %s ms.\n",
		plusMinus(sh.HighWallS, 1, 2, false), plusMinus(sh.HighStallMS, 1, 0, false),
		plusMinus(sl.LowWallS, 1, 2, false), plusMinus(sl.LowStallMS, 1, 0, false))
}

func (md *mdWriter) paired(s *Summary) {
	if len(s.Paired) == 0 {
		return
	}
	md.f("\n## Against the reference\n\nEach strategy against `reference` in the same runs: per run, strategy − reference; " +
		"mean ± 95 %% CI of those differences. **better** or **worse** only where the interval excludes 0, " +
		"**tie** where it does not; no word with fewer than two paired runs. Stall and times: lower is better; survival: higher.\n\n")
	cols := []string{"strategy"}
	for _, m := range PairedMetrics {
		cols = append(cols, m.Title+" ("+m.Unit+")")
	}
	md.row(cols...)
	md.row(slices.Repeat([]string{"---"}, len(cols))...)
	for _, p := range s.Paired {
		cells := []string{p.Strategy}
		for _, c := range p.Cells {
			text := pairedText(c)
			if v := c.Verdict(); v != NoVerdict {
				text = strings.Replace(text, string(v), "**"+string(v)+"**", 1)
			}
			cells = append(cells, text)
		}
		md.row(cells...)
	}
	md.f("\n")
	for _, p := range s.Paired {
		md.f("- %s\n", verdictSentence(p))
	}
}

func (md *mdWriter) outcomes(s *Summary) {
	if len(s.Outcomes) == 0 {
		return
	}
	md.f("\n## Outcomes\n\nSessions the OOM killer took: a result of the strategy, not a failure of the bench.\n\n")
	for _, o := range s.Outcomes {
		md.f("- %s\n", outcomeText(o))
	}
}

func (md *mdWriter) memory(s *Summary) {
	md.f("\n## Memory, as the kernel counted it\n\nPer session, mean over the sessions of all runs, while the schedule ran: " +
		"memory stall (memory.pressure some and full, ms), and memory.stat's pages scanned, reclaimed, refaulted, " +
		"swapped out (to swap or zswap) and major faults.\n\n")
	md.row("arm", "class", "sessions", "stall some (ms)", "stall full (ms)", "pgscan", "pgsteal", "refaults", "swapped out", "major faults")
	md.row(append([]string{"---", "---"}, slices.Repeat([]string{"---:"}, 8)...)...)
	for _, a := range s.Arms {
		for _, c := range Classes {
			m := a.Memory[c]
			if m.Sessions == 0 {
				continue
			}
			some, full := na, na
			if m.StallSessions > 0 {
				some, full = num(m.StallSomeMS, 0), num(m.StallFullMS, 0)
			}
			md.row(a.Name, strings.ToUpper(c), strconv.Itoa(m.Sessions), some, full, num(m.Scan, 0), num(m.Steal, 0),
				num(m.Refault, 0), num(m.SwapOut, 0), num(m.MajFault, 0))
		}
	}
}

func baseline(s *Summary, name string) ArmSummary {
	for _, a := range s.Arms {
		if a.Name == name {
			return a
		}
	}
	return ArmSummary{Name: name}
}

func (md *mdWriter) latency(s *Summary) {
	md.f("\n## Allocation latency\n\nLatency of every grow event in µs (the setup excluded), pooled over runs and members.\n")
	for _, c := range Classes {
		md.f("\n### %s\n\n", strings.ToUpper(c))
		md.row("arm", "grows", "P50", "P95", "P99", "max")
		md.row("---", "---:", "---:", "---:", "---:", "---:")
		for _, a := range s.Arms {
			l, ok := a.Latency[c]
			if !ok || l.N == 0 {
				continue
			}
			md.row(a.Name, strconv.Itoa(l.N), num(l.P50, 1), num(l.P95, 1), num(l.P99, 1), num(l.Max, 1))
		}
	}
}

func (md *mdWriter) events(s *Summary) {
	md.f("\n## memory.events\n\nIncrease of each class's memory.events counters, summed over the class's sessions, mean per run.\n\n")
	md.row("arm", "HIGH high", "HIGH max", "HIGH oom", "HIGH oom_kill", "LOW high", "LOW max", "LOW oom", "LOW oom_kill")
	md.row(append([]string{"---"}, slices.Repeat([]string{"---:"}, 8)...)...)
	for _, a := range s.Arms {
		h, l := a.Events["high"], a.Events["low"]
		md.row(a.Name, num(h.High, 1), num(h.Max, 1), num(h.OOM, 1), num(h.OOMKill, 1),
			num(l.High, 1), num(l.Max, 1), num(l.OOM, 1), num(l.OOMKill, 1))
	}
	md.counters(s)
}

func (md *mdWriter) counters(s *Summary) {
	var arms []ArmSummary
	var keys []string
	for _, a := range s.Arms {
		if len(a.Counters) > 0 {
			arms = append(arms, a)
		}
		for k := range a.Counters {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	if len(arms) == 0 {
		return
	}
	slices.Sort(keys)
	md.f("\n## Daemon counters\n\nThe daemon's trigger and delay counters, mean per run.\n\n")
	cols := []string{"counter"}
	for _, a := range arms {
		cols = append(cols, a.Name)
	}
	md.row(cols...)
	md.row(slices.Repeat([]string{"---"}, len(cols))...)
	for _, k := range keys {
		cells := []string{"`" + k + "`"}
		for _, a := range arms {
			v, ok := a.Counters[k]
			cells = append(cells, map[bool]string{true: num(v, 1), false: na}[ok])
		}
		md.row(cells...)
	}
}

func (md *mdWriter) overhead(s *Summary) {
	md.f("\n## Overhead\n\nEach daemon strategy against `none`, paired by run: the difference is (strategy − none) / none per run, averaged.\n\n")
	md.row("strategy", "metric", "none", "strategy", "difference", "verdict")
	md.row("---", "---", "---:", "---:", "---:", "---")
	for _, o := range s.Overhead {
		for _, d := range o.Metrics {
			md.row(o.Name, d.Metric+" ("+d.Unit+")", plusMinus(d.None, 1, 1, false),
				plusMinus(d.Strategy, 1, 1, false), percent(d.Pct), verdict(d))
		}
	}
}

func (md *mdWriter) failures(s *Summary) {
	if len(s.Failures) == 0 {
		return
	}
	md.f("\n## Failures\n\n%s; their arms' missing values are left out of the numbers above.\n\n", count(len(s.Failures), "problem"))
	md.row("run", "arm", "member", "problem")
	md.row("---:", "---", "---", "---")
	for _, f := range s.Failures {
		md.row(strconv.Itoa(f.Run), f.Arm, orDash(f.Member), strings.ReplaceAll(f.Problem, "|", `\|`))
	}
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func (md *mdWriter) plots(ps []plotSpec) {
	if len(ps) == 0 {
		return
	}
	md.f("\n## Plots\n")
	for _, p := range ps {
		md.f("\n![%s](%s)\n", p.title, p.file)
	}
}
