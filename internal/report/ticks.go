package report

import (
	"math"
	"strconv"

	"gonum.org/v1/plot"
)

// linearTicks labels four to eight round values (1, 2, 2.5 or 5 times a
// power of ten) across a linear axis, zero among them when the range
// holds it, with an unlabelled tick between each two. gonum's default
// labels about three, chosen within the data, which can leave out zero:
// a bar chart then has no labelled base.
var linearTicks = plot.TickerFunc(func(min, max float64) []plot.Tick {
	if !(max > min) {
		return []plot.Tick{{Value: min, Label: tickLabel(min, 1)}}
	}
	step := linearStep(min, max)
	var ts []plot.Tick
	for i := math.Ceil(min / step * 2); i/2*step <= max+step*1e-9; i++ {
		v := i / 2 * step
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		label := ""
		if math.Mod(i, 2) == 0 {
			label = tickLabel(v, step)
		}
		ts = append(ts, plot.Tick{Value: v, Label: label})
	}
	return ts
})

// linearStep is the largest of 1, 2, 2.5 and 5 times a power of ten of
// which at least four multiples lie in [min, max].
func linearStep(min, max float64) float64 {
	labels := func(step float64) float64 {
		return math.Floor(max/step+1e-9) - math.Ceil(min/step-1e-9) + 1
	}
	for e := math.Ceil(math.Log10(max - min)); ; e-- {
		for _, m := range []float64{5, 2.5, 2, 1} {
			if step := m * math.Pow10(int(e)); labels(step) >= 4 {
				return step
			}
		}
	}
}

// tickLabel formats v with as many decimals as step needs.
func tickLabel(v, step float64) string {
	decimals := 0
	for s := step; decimals < 10 && math.Abs(s-math.Round(s)) > 1e-9*math.Max(1, math.Abs(s)); s *= 10 {
		decimals++
	}
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

// latencyTicks labels a log axis of microseconds in units a reader knows
// ("100 µs", "1 ms", "1 s") at every power of ten, and also at 2 and 5
// times each when the axis spans less than two decades, so that it has
// at least two labels. The other integer multiples are unlabelled ticks.
var latencyTicks = plot.TickerFunc(func(min, max float64) []plot.Tick {
	if !(min > 0) || !(max > min) {
		return nil
	}
	labelled := map[float64]bool{1: true}
	if math.Log10(max/min) < 2 {
		labelled[2], labelled[5] = true, true
	}
	var ts []plot.Tick
	for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
		for m := 1.0; m <= 9; m++ {
			v := m * math.Pow10(int(e))
			if v < min*(1-1e-9) || v > max*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if labelled[m] {
				t.Label = microseconds(v)
			}
			ts = append(ts, t)
		}
	}
	return ts
})

// microseconds formats a duration of us microseconds in s, ms or µs.
func microseconds(us float64) string {
	f := func(v float64, unit string) string { return strconv.FormatFloat(v, 'g', 3, 64) + " " + unit }
	switch {
	case us >= 1e6:
		return f(us/1e6, "s")
	case us >= 1e3:
		return f(us/1e3, "ms")
	}
	return f(us, "µs")
}
