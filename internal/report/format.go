package report

import (
	"fmt"
	"math"
	"strings"
)

// na stands for a number that is unknown: no data, or an interval from one
// value.
const na = "n/a"

// num formats x with prec decimals, never as "-0".
func num(x float64, prec int) string {
	s := fmt.Sprintf("%.*f", prec, x)
	if strings.Trim(s, "-0.") == "" {
		return strings.TrimPrefix(s, "-")
	}
	return s
}

// signed is num with a sign, "+0.0" for zero.
func signed(x float64, prec int) string {
	s := num(x, prec)
	if !strings.HasPrefix(s, "-") {
		s = "+" + s
	}
	return s
}

// plusMinus formats an estimate scaled by k as "mean ± hw".
func plusMinus(e Estimate, k float64, prec int, sign bool) string {
	if !e.OK() {
		return na
	}
	m := num(e.Mean*k, prec)
	if sign {
		m = signed(e.Mean*k, prec)
	}
	if math.IsNaN(e.HalfWidth) {
		return m + " ± " + na
	}
	return m + " ± " + num(e.HalfWidth*k, prec)
}

// slowdown formats a ratio estimate and its change in %: "1.032 ± 0.011
// (+3.2%)".
func slowdown(e Estimate) string {
	if !e.OK() {
		return na
	}
	return fmt.Sprintf("%s (%s%%)", plusMinus(e, 1, 3, false), signed((e.Mean-1)*100, 1))
}

// percent formats an estimate of a difference already in %: "+3.2% ± 1.1%".
func percent(e Estimate) string {
	if !e.OK() {
		return na
	}
	s := signed(e.Mean, 1) + "%"
	if math.IsNaN(e.HalfWidth) {
		return s + " ± " + na
	}
	return s + " ± " + num(e.HalfWidth, 1) + "%"
}

// survival formats LOW survival: "83% ± 72% (5/6)".
func survival(a ArmSummary) string {
	if !a.LowSurvival.OK() {
		return na
	}
	e := a.LowSurvival
	s := num(e.Mean*100, 0) + "%"
	if math.IsNaN(e.HalfWidth) {
		s += " ± " + na
	} else {
		s += " ± " + num(e.HalfWidth*100, 0) + "%"
	}
	return fmt.Sprintf("%s (%d/%d)", s, a.LowCompleted, a.LowReplays)
}

// verdict says whether an overhead difference is distinguishable from noise.
func verdict(d Diff) string {
	switch {
	case d.Pct.N < 2 || math.IsNaN(d.Pct.HalfWidth):
		return na
	case d.InsideNoise():
		return "inside the noise"
	}
	return "outside the noise"
}

// megabytes formats bytes as decimal MB.
func megabytes(b int64) string { return num(float64(b)/1e6, 0) + " MB" }
