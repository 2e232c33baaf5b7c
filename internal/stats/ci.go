package stats

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Confidence is the confidence level of MeanCI.
const Confidence = 0.95

// MeanCI returns the arithmetic mean of xs and the half-width of its 95 %
// confidence interval, t·s/√n, where s is the sample standard deviation
// (n-1 in the denominator) and t the 97.5th percentile of Student's t
// distribution with n-1 degrees of freedom: the interval is mean ±
// halfWidth. With one value the half-width is NaN: one sample says nothing
// about the spread, and a caller should show it as unknown ("n/a"), not as
// zero. It fails with ErrEmpty for no values and with ErrNotFinite if a
// value is NaN or infinite.
func MeanCI(xs []float64) (mean, halfWidth float64, err error) {
	sorted, err := sortedCopy(xs)
	if err != nil {
		return 0, 0, err
	}
	n := len(sorted)
	mean = meanOf(sorted)
	if n == 1 {
		return mean, math.NaN(), nil
	}
	var ss float64
	for _, x := range sorted {
		ss += (x - mean) * (x - mean)
	}
	sd := math.Sqrt(ss / float64(n-1))
	return mean, tQuantile(n-1) * sd / math.Sqrt(float64(n)), nil
}

// tQuantile is the two-sided 95 % critical value of Student's t with dof
// degrees of freedom.
func tQuantile(dof int) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(dof)}.Quantile(1 - (1-Confidence)/2)
}
