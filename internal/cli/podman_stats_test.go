package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/memqos/memqos/internal/trace"
)

// statsRecorder samples a container with `podman stats` and writes the
// samples as the reference's resources.json: {"samples": [{"timestamp",
// "epoch", "mem_usage", "mem_percent", "cpu_percent"}], "summary": …}.
// The reference called `podman stats --no-stream` and slept 1 s, again
// and again, which gave samples about 1.04 s apart; in a TCG guest each
// call takes 0.6 to 1.4 s, so this recorder streams instead (`podman
// stats --interval 1`), which gives the reference's spacing, each line
// stamped when it is read. The memory figures are the same; cpu_percent
// is then over the last interval rather than since the start.
type statsRecorder struct {
	podman, container string
	samples           []statsSample
}

type statsSample struct {
	Timestamp  string  `json:"timestamp"`
	Epoch      float64 `json:"epoch"`
	MemUsage   string  `json:"mem_usage"`
	MemPercent string  `json:"mem_percent"`
	CPUPercent string  `json:"cpu_percent"`
}

// run samples until ctx ends.
func (r *statsRecorder) run(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, r.podman, "stats", "--interval", "1", "--format",
		"{{.MemUsage}}|{{.MemPerc}}|{{.CPUPerc}}", r.container)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		r.add(time.Now(), sc.Text())
	}
	cmd.Wait() // ends when ctx does
	return nil
}

// add keeps one line of podman stats, read at now.
func (r *statsRecorder) add(now time.Time, line string) {
	if i := strings.LastIndex(line, "\x1b[1;1H"); i >= 0 { // a screen reset
		line = line[i+len("\x1b[1;1H"):]
	}
	f := strings.Split(strings.TrimSpace(line), "|")
	if len(f) != 3 {
		return
	}
	r.samples = append(r.samples, statsSample{
		Timestamp: now.Format("2006-01-02T15:04:05.000000"),
		Epoch:     float64(now.UnixNano()) / 1e9,
		MemUsage:  f[0], MemPercent: f[1], CPUPercent: f[2],
	})
}

// write writes the samples in the reference's resources.json format.
func (r *statsRecorder) write(path string) error {
	summary := map[string]any{"sample_count": len(r.samples)}
	if n := len(r.samples); n > 0 {
		summary["duration_seconds"] = r.samples[n-1].Epoch - r.samples[0].Epoch
	}
	data, err := json.MarshalIndent(map[string]any{"samples": r.samples, "summary": summary}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// statsRounding is the largest relative error of podman's memory figures:
// it prints them with go-units' HumanSize, 4 significant digits in
// decimal units below 1000 of the unit ("185.5MB"), so a printed value is
// off by at most half a unit in the 4th digit, 0.05 of 100.0.
const statsRounding = 0.0005

// statsLag bounds how long before podman stats prints a line it read
// the cgroup files the line reports: it reads them, then formats the line.
const statsLag = 500 * time.Millisecond

// bounds are the peak and mean a podman-stats trace may report, given
// the native trace of the same container and the times of its samples.
type bounds struct {
	peakLow, peakHigh float64
	meanLow, meanHigh float64
}

// boundsAt derives the bounds from the native trace nat, sampled at
// 10 Hz or more, for podman-stats samples printed at the times at (in
// ms on nat's clock; outside nat, its first or last sample stands).
//
// Each podman-stats sample reads the group's memory at one instant, at
// most lag before it was printed. What it reads depends on podman's
// version: podman 4.3 (Debian bookworm, in the guests) reports
// memory.stat anon, which it matched to the last digit in the samples
// checked; later versions report memory.current less memory.stat
// inactive_file, as docker does. Both lie between the anon and the total of the native
// sample taken at the same instant. Between two native samples memory
// moves from one to the other, so the reading lies between the least
// anon and the largest total of the native samples in [t - lag, t] and
// the two just outside. podman prints it rounded to 4 significant digits
// (statsRounding). A podman-stats peak and mean outside the peak and
// mean of those ranges disagree with the native recording at podman
// stats' own resolution: its sampling times, what it counts, and its
// rounding.
func boundsAt(nat *trace.Trace, at []int64, lag time.Duration) bounds {
	var b bounds
	for _, t := range at {
		lo, hi := readingRange(nat, t, lag)
		b.peakLow, b.peakHigh = max(b.peakLow, lo), max(b.peakHigh, hi)
		b.meanLow += lo / float64(len(at))
		b.meanHigh += hi / float64(len(at))
	}
	b.peakLow *= 1 - statsRounding
	b.meanLow *= 1 - statsRounding
	b.peakHigh *= 1 + statsRounding
	b.meanHigh *= 1 + statsRounding
	return b
}

// readingRange is the range, before rounding, of a podman-stats sample
// printed at t (see boundsAt).
func readingRange(nat *trace.Trace, t int64, lag time.Duration) (lo, hi float64) {
	l := lag.Milliseconds()
	lo, _ = extremes(nat.Samples, t-l, t, lowestReport)
	_, hi = extremes(nat.Samples, t-l, t, total)
	return lo, hi
}

// lagOf is the least lag, in steps of 100 ms up to 10 s, for which the
// value v printed at t lies in its reading range; -1 if there is none.
func lagOf(nat *trace.Trace, t int64, v float64) time.Duration {
	for l := time.Duration(0); l <= 10*time.Second; l += 100 * time.Millisecond {
		lo, hi := readingRange(nat, t, l)
		if v >= lo*(1-statsRounding) && v <= hi*(1+statsRounding) {
			return l
		}
	}
	return -1
}

// total is a sample's total memory.
func total(s trace.Sample) float64 { return float64(s.Total) }

// lowestReport is the least podman stats may report for a sample: its
// anon memory, or 0 if the sample has no anon/file split.
func lowestReport(s trace.Sample) float64 {
	if s.Anon == nil {
		return 0
	}
	return float64(*s.Anon)
}

// extremes are the least and largest of f over the samples in [from, to]
// and the samples just outside it.
func extremes(s []trace.Sample, from, to int64, f func(trace.Sample) float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range window(s, from, to) {
		lo, hi = math.Min(lo, f(v)), math.Max(hi, f(v))
	}
	return lo, hi
}

// window is the samples in [from, to], with one more at each side.
func window(s []trace.Sample, from, to int64) []trace.Sample {
	i, j := 0, len(s)
	for i < len(s)-1 && s[i+1].TimeMS <= from {
		i++
	}
	for j > 1 && s[j-2].TimeMS >= to {
		j--
	}
	return s[i:j]
}

// maxGap is the largest time between consecutive samples.
func maxGap(t *trace.Trace) time.Duration {
	var g int64
	for i := 1; i < len(t.Samples); i++ {
		g = max(g, t.Samples[i].TimeMS-t.Samples[i-1].TimeMS)
	}
	return time.Duration(g) * time.Millisecond
}
