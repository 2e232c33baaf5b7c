// Package stats holds small descriptive statistics over float64 samples:
// percentiles and a count/min/max/mean/P50/P90/P95/P99 summary. It is pure.
// Trace statistics use it; numbers that are to be compared with them should
// come from it too, so that both use the same method.
//
// MeanCI gives a mean with its 95 % confidence interval (Student's t).
//
// Percentiles use one method everywhere: linear interpolation between the
// closest ranks, known as Hyndman and Fan's type 7 (the default of R's
// quantile and of NumPy's percentile). For n sorted values x[0..n-1] and a
// percentile p in [0, 100], let h = (n-1)·p/100 and i = floor(h); the
// result is x[i] + (h-i)·(x[i+1]-x[i]), or x[n-1] when i = n-1. P0 is the
// minimum and P100 the maximum. With one value, every percentile is that
// value; otherwise a percentile below 100 reaches the maximum only when the
// values at its two closest ranks both equal it. For example, P99 of 61
// values lies 40 % of the way from the 60th to the 61st smallest value, so
// it is below the maximum whenever those two differ.
//
// Errors: every error wraps one of ErrEmpty (no values), ErrNotFinite (a NaN
// or infinite value) or ErrPercentile (a percentile outside [0, 100]); test
// for them with errors.Is.
package stats
