package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/memqos/memqos/internal/bench"
)

// plotSpec is one SVG file of the report.
type plotSpec struct {
	file, title string
	make        func() (*plot.Plot, error)
}

// Plot size.
const (
	plotWidth  = 16 * vg.Centimeter
	plotHeight = 10 * vg.Centimeter
)

// cdfPoints bounds the points of a CDF line.
const cdfPoints = 1000

// plotsOf lists the report's plots: bars of the isolation metrics with
// their CIs, latency CDFs by class and the first run's memory timelines;
// for an overhead bench, bars of each strategy's differences.
func plotsOf(r *bench.Results, s *Summary) []plotSpec {
	if s.Kind == bench.KindOverhead {
		var ps []plotSpec
		for _, o := range s.Overhead {
			ps = append(ps, plotSpec{"overhead-" + o.Name + ".svg", o.Name + " against none (%, 95 % CI)",
				func() (*plot.Plot, error) { return overheadBars(o) }})
		}
		return ps
	}
	ps := []plotSpec{
		barSpec(s, "slowdown-high.svg", unbounded, "HIGH slowdown vs solo (%)", func(a ArmSummary) Estimate { return pctOf(a.HighSlowdown) }),
		barSpec(s, "slowdown-low.svg", unbounded, "LOW slowdown vs alone (%)", func(a ArmSummary) Estimate { return pctOf(a.LowSlowdown) }),
		barSpec(s, "alloc-high.svg", unbounded, "HIGH allocation time vs solo (%)", func(a ArmSummary) Estimate { return pctOf(a.HighAllocSlowdown) }),
		barSpec(s, "alloc-low.svg", unbounded, "LOW allocation time vs alone (%)", func(a ArmSummary) Estimate { return pctOf(a.LowAllocSlowdown) }),
		barSpec(s, "survival-low.svg", [2]float64{0, 100}, "LOW survival (%)", func(a ArmSummary) Estimate { return scaled(a.LowSurvival, 100) }),
	}
	for _, c := range Classes {
		ps = append(ps, plotSpec{"latency-" + c + ".svg", strings.ToUpper(c) + " allocation latency CDF",
			func() (*plot.Plot, error) { return latencyCDF(s, c) }})
	}
	return append(ps, timelineSpecs(r, s)...)
}

// unbounded are the bounds of a metric that has none.
var unbounded = [2]float64{math.Inf(-1), math.Inf(1)}

// barSpec is a bar chart of metric for every arm but the baselines; the
// error bars stop at the metric's bounds (a survival CI past 100 % is
// an artefact of the t interval, not a possible value).
func barSpec(s *Summary, file string, bounds [2]float64, title string, metric func(ArmSummary) Estimate) plotSpec {
	return plotSpec{file, title, func() (*plot.Plot, error) {
		var names []string
		var es []Estimate
		for _, a := range s.Arms {
			if e := metric(a); !a.Baseline && e.OK() {
				names, es = append(names, a.Name), append(es, e)
			}
		}
		return bars(title+", 95 % CI", names, es, bounds)
	}}
}

// pctOf turns a ratio estimate into a change in %.
func pctOf(e Estimate) Estimate {
	return Estimate{Mean: (e.Mean - 1) * 100, HalfWidth: e.HalfWidth * 100, N: e.N}
}

func scaled(e Estimate, k float64) Estimate {
	return Estimate{Mean: e.Mean * k, HalfWidth: e.HalfWidth * k, N: e.N}
}

// newPlot is an empty plot with title, set apart from what is below it.
func newPlot(title string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.Padding = 2 * vg.Millimeter
	return p
}

// errBars are bar tops with their CIs; NaN half-widths draw no bar.
type errBars struct {
	plotter.XYs
	plotter.YErrors
}

// bars draws one bar per name with its CI as an error bar.
func bars(title string, names []string, es []Estimate, bounds [2]float64) (*plot.Plot, error) {
	p := newPlot(title)
	p.Y.Label.Text = "%"
	p.Y.Tick.Marker = linearTicks
	if len(es) == 0 {
		return p, nil
	}
	// Half a slot of room on each side: the first and last names are
	// centred on their bars, which NominalX puts at the edges otherwise.
	p.X.Min, p.X.Max = -0.5, float64(len(es))-0.5
	vals := make(plotter.Values, len(es))
	var eb errBars
	for i, e := range es {
		vals[i] = e.Mean
		if !math.IsNaN(e.HalfWidth) {
			eb.XYs = append(eb.XYs, plotter.XY{X: float64(i), Y: e.Mean})
			low := min(e.HalfWidth, max(e.Mean-bounds[0], 0))
			high := min(e.HalfWidth, max(bounds[1]-e.Mean, 0))
			eb.YErrors = append(eb.YErrors, struct{ Low, High float64 }{low, high})
		}
	}
	b, err := plotter.NewBarChart(vals, vg.Points(20))
	if err != nil {
		return nil, fmt.Errorf("bar chart: %w", err)
	}
	b.Color = plotutil.Color(0)
	b.LineStyle.Width = 0
	// The base of the bars, darker than the grid.
	base, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: 0}, {X: p.X.Max, Y: 0}})
	if err != nil {
		return nil, fmt.Errorf("bar base: %w", err)
	}
	base.Color = color.Gray{Y: 96}
	base.Width = vg.Points(0.5)
	p.Add(plotter.NewGrid(), b, base)
	if len(eb.XYs) > 0 {
		e, err := plotter.NewYErrorBars(eb)
		if err != nil {
			return nil, fmt.Errorf("error bars: %w", err)
		}
		p.Add(e)
	}
	p.NominalX(names...)
	return p, nil
}

func overheadBars(o Overhead) (*plot.Plot, error) {
	var names []string
	var es []Estimate
	for _, d := range o.Metrics {
		if d.Pct.OK() {
			names, es = append(names, d.Metric), append(es, d.Pct)
		}
	}
	p, err := bars(o.Name+" against none, difference in % (95 % CI)", names, es, unbounded)
	if err != nil {
		return nil, err
	}
	p.X.Tick.Label.Rotation = math.Pi / 8
	p.X.Tick.Label.XAlign = draw.XRight
	return p, nil
}

// latencyCDF draws the cumulative distribution of class's grow latencies,
// one line per arm, on a log axis.
func latencyCDF(s *Summary, class string) (*plot.Plot, error) {
	p := newPlot(strings.ToUpper(class) + " allocation latency (grow events)")
	p.X.Label.Text = "latency (log scale)"
	p.Y.Label.Text = "fraction of grow events"
	p.Y.Min, p.Y.Max = 0, 1
	p.Y.Tick.Marker = linearTicks
	var args []any
	for _, a := range s.Arms {
		if l := a.Latency[class]; l.N > 0 {
			args = append(args, a.Name, cdf(l.sorted))
		}
	}
	if len(args) == 0 { // a log axis without values panics
		return p, nil
	}
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, latencyTicks
	p.Add(plotter.NewGrid())
	if err := plotutil.AddLines(p, args...); err != nil {
		return nil, fmt.Errorf("latency lines: %w", err)
	}
	return p, nil
}

// cdf is the empirical CDF of sorted values, at most cdfPoints points,
// with values clamped to 0.1 µs for the log axis.
func cdf(sorted []float64) plotter.XYs {
	n := len(sorted)
	step := max(1, (n+cdfPoints-1)/cdfPoints)
	var xys plotter.XYs
	for i := 0; i < n; i += step {
		xys = append(xys, plotter.XY{X: max(sorted[i], 0.1), Y: float64(i+1) / float64(n)})
	}
	if last := n - 1; last%step != 0 {
		xys = append(xys, plotter.XY{X: max(sorted[last], 0.1), Y: 1})
	}
	return xys
}

// timelineSpecs are the memory timelines of the first run's arms.
func timelineSpecs(r *bench.Results, s *Summary) []plotSpec {
	if len(s.Runs) == 0 {
		return nil
	}
	var ps []plotSpec
	for _, a := range r.Arms {
		if a.Run == s.Runs[0] && len(a.Timeline.Samples) > 0 {
			ps = append(ps, plotSpec{"timeline-" + a.Name + ".svg",
				fmt.Sprintf("memory.current, run %d, %s", a.Run, a.Name),
				func() (*plot.Plot, error) { return timeline(a) }})
		}
	}
	return ps
}

// timeline draws each member's memory.current over the arm, in MB.
func timeline(a *bench.LoadedArm) (*plot.Plot, error) {
	tl := a.Timeline
	p := newPlot(fmt.Sprintf("memory.current, run %d, %s", a.Run, a.Name))
	p.X.Label.Text = "time (s)"
	p.Y.Label.Text = "MB"
	p.X.Tick.Marker, p.Y.Tick.Marker = linearTicks, linearTicks
	p.Y.Min = 0
	var args []any
	for j, name := range tl.Members {
		xys := make(plotter.XYs, 0, len(tl.Samples))
		for i, row := range tl.Samples {
			if j < len(row) {
				xys = append(xys, plotter.XY{X: float64(i) * tl.IntervalS, Y: float64(row[j]) / 1e6})
			}
		}
		args = append(args, name, xys)
	}
	p.Add(plotter.NewGrid())
	if err := plotutil.AddLines(p, args...); err != nil {
		return nil, fmt.Errorf("timeline lines: %w", err)
	}
	return p, nil
}

// Space around a plot, and between the plot and its legend.
const (
	plotMargin = 4 * vg.Millimeter
	legendGap  = 3 * vg.Millimeter
)

// svg renders p as SVG on a white background, its legend (if any) to the
// right of the plot area, where it hides no line. Fonts are referenced by
// name, not embedded, and the output has no ids or times: equal plots
// give equal bytes.
func svg(p *plot.Plot) ([]byte, error) {
	c := vgsvg.NewWith(vgsvg.UseWH(plotWidth, plotHeight))
	dc := draw.New(c)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	dc = draw.Crop(dc, plotMargin/2, -plotMargin, plotMargin/2, -plotMargin/2)
	legend := p.Legend
	p.Legend = plot.NewLegend()
	// The legend's width by gonum's metrics of Liberation Serif, with room
	// for a wider serif font where that is missing (DejaVu Serif is about
	// a fifth wider).
	if w := legend.Rectangle(dc).Size().X * 1.25; w > 0 {
		p.Draw(draw.Crop(dc, 0, -(w + legendGap), 0, 0))
		legend.Top, legend.Left = true, true
		legend.Draw(draw.Crop(dc, dc.Size().X-w, 0, 0, -titleHeight(p)))
	} else {
		p.Draw(dc)
	}
	p.Legend = legend
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	// gonum names the font alone; a viewer without it picks its default
	// font, maybe a sans one. Times has the same metrics.
	return bytes.ReplaceAll(buf.Bytes(), []byte("font-family:Liberation Serif;"), []byte("font-family:Liberation Serif,Times New Roman,Times,serif;")), nil
}

// titleHeight is the height p's title takes above the plot area.
func titleHeight(p *plot.Plot) vg.Length {
	if p.Title.Text == "" {
		return 0
	}
	return p.Title.TextStyle.Rectangle(p.Title.Text).Size().Y + p.Title.Padding
}
