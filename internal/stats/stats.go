package stats

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

var (
	// ErrEmpty means there were no values to describe.
	ErrEmpty = errors.New("no values")
	// ErrNotFinite means a value was NaN or infinite.
	ErrNotFinite = errors.New("value is NaN or infinite")
	// ErrPercentile means a percentile was outside [0, 100] or NaN.
	ErrPercentile = errors.New("percentile outside [0, 100]")
)

// Summary describes a set of values. Percentiles follow the package's
// method (type 7, linear interpolation between closest ranks).
type Summary struct {
	Count int     `json:"count"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
}

// Summarize describes xs, which it does not modify. Mean is the arithmetic
// mean of the values. It fails with ErrEmpty for no values and with
// ErrNotFinite if a value is NaN or infinite.
func Summarize(xs []float64) (Summary, error) {
	sorted, err := sortedCopy(xs)
	if err != nil {
		return Summary{}, err
	}
	return Summary{
		Count: len(sorted),
		Min:   sorted[0],
		Max:   sorted[len(sorted)-1],
		Mean:  meanOf(sorted),
		P50:   interpolate(sorted, 50),
		P90:   interpolate(sorted, 90),
		P95:   interpolate(sorted, 95),
		P99:   interpolate(sorted, 99),
	}, nil
}

// Percentile returns the p-th percentile (p in [0, 100]) of xs, which it
// does not modify, by the package's method (type 7).
func Percentile(xs []float64, p float64) (float64, error) {
	if err := checkPercentile(p); err != nil {
		return 0, err
	}
	sorted, err := sortedCopy(xs)
	if err != nil {
		return 0, err
	}
	return interpolate(sorted, p), nil
}

// PercentileSorted is Percentile for values already sorted in ascending
// order; it neither checks the order nor looks for NaN.
func PercentileSorted(sorted []float64, p float64) (float64, error) {
	if err := checkPercentile(p); err != nil {
		return 0, err
	}
	if len(sorted) == 0 {
		return 0, ErrEmpty
	}
	return interpolate(sorted, p), nil
}

func checkPercentile(p float64) error {
	if !(p >= 0 && p <= 100) {
		return fmt.Errorf("%w: %v", ErrPercentile, p)
	}
	return nil
}

func sortedCopy(xs []float64) ([]float64, error) {
	if len(xs) == 0 {
		return nil, ErrEmpty
	}
	for i, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("value %d (%v): %w", i, x, ErrNotFinite)
		}
	}
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	return sorted, nil
}

// interpolate is type 7 on a non-empty sorted slice; p is in [0, 100].
func interpolate(sorted []float64, p float64) float64 {
	n := len(sorted)
	h := float64(n-1) * p / 100
	i := int(math.Floor(h))
	if i >= n-1 {
		return sorted[n-1]
	}
	// The conversion rounds the product, so that no platform fuses it
	// with the addition and every platform gives the same bits.
	return sorted[i] + float64((h-float64(i))*(sorted[i+1]-sorted[i]))
}

func meanOf(xs []float64) float64 {
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}
