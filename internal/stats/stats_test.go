package stats

import (
	"errors"
	"math"
	"testing"
)

func squares(n int) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		// Descending, so that sorting is exercised.
		v := float64(n - 1 - i)
		xs[i] = v * v
	}
	return xs
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		want Summary
	}{
		{"n=1", []float64{7}, Summary{Count: 1, Min: 7, Max: 7, Mean: 7, P50: 7, P90: 7, P95: 7, P99: 7}},
		// h = p/100: P50 = 10 + 0.5·10, P90 = 10 + 0.9·10, ...
		{"n=2", []float64{20, 10}, Summary{Count: 2, Min: 10, Max: 20, Mean: 15, P50: 15, P90: 19, P95: 19.5, P99: 19.9}},
		// h = 4·p/100: P90 → h=3.6 → 4 + 0.6·1, P99 → h=3.96.
		{"n=5", []float64{5, 1, 4, 2, 3}, Summary{Count: 5, Min: 1, Max: 5, Mean: 3, P50: 3, P90: 4.6, P95: 4.8, P99: 4.96}},
		// x = i² for i = 0..60. h = 60·p/100: P50 → x[30] = 900,
		// P90 → x[54] = 2916, P95 → x[57] = 3249, P99 → h = 59.4 →
		// 3481 + 0.4·(3600-3481) = 3528.6, below the max 3600.
		// Mean = (60·61·121/6)/61 = 1210.
		{"n=61", squares(61), Summary{Count: 61, Min: 0, Max: 3600, Mean: 1210, P50: 900, P90: 2916, P95: 3249, P99: 3528.6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Summarize(tt.xs)
			if err != nil {
				t.Fatal(err)
			}
			if !summaryClose(got, tt.want) {
				t.Errorf("Summarize = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func summaryClose(a, b Summary) bool {
	return a.Count == b.Count && near(a.Min, b.Min) && near(a.Max, b.Max) &&
		near(a.Mean, b.Mean) && near(a.P50, b.P50) && near(a.P90, b.P90) &&
		near(a.P95, b.P95) && near(a.P99, b.P99)
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestPercentile(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		p    float64
		want float64
	}{
		{"n=1 P0", []float64{7}, 0, 7},
		{"n=1 P100", []float64{7}, 100, 7},
		{"n=2 P0 is min", []float64{20, 10}, 0, 10},
		{"n=2 P10", []float64{20, 10}, 10, 11},
		{"n=2 P100 is max", []float64{20, 10}, 100, 20},
		{"n=5 P25 is a rank", []float64{5, 1, 4, 2, 3}, 25, 2},
		{"n=5 P37.5", []float64{5, 1, 4, 2, 3}, 37.5, 2.5},
		{"n=61 P99", squares(61), 99, 3528.6},
		{"n=61 P100", squares(61), 100, 3600},
		{"ties", []float64{1, 5, 5}, 99, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Percentile(tt.xs, tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if !near(got, tt.want) {
				t.Errorf("Percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestPercentileDoesNotModifyInput(t *testing.T) {
	xs := []float64{3, 1, 2}
	if _, err := Percentile(xs, 50); err != nil {
		t.Fatal(err)
	}
	if xs[0] != 3 || xs[1] != 1 || xs[2] != 2 {
		t.Errorf("input changed to %v", xs)
	}
}

func TestPercentileSorted(t *testing.T) {
	got, err := PercentileSorted([]float64{1, 2, 3, 4, 5}, 90)
	if err != nil {
		t.Fatal(err)
	}
	if !near(got, 4.6) {
		t.Errorf("PercentileSorted = %v, want 4.6", got)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"Summarize empty", func() error { _, err := Summarize(nil); return err }, ErrEmpty},
		{"Summarize NaN", func() error { _, err := Summarize([]float64{1, math.NaN()}); return err }, ErrNotFinite},
		{"Summarize Inf", func() error { _, err := Summarize([]float64{math.Inf(1)}); return err }, ErrNotFinite},
		{"Percentile empty", func() error { _, err := Percentile(nil, 50); return err }, ErrEmpty},
		{"Percentile below 0", func() error { _, err := Percentile([]float64{1}, -1); return err }, ErrPercentile},
		{"Percentile above 100", func() error { _, err := Percentile([]float64{1}, 100.5); return err }, ErrPercentile},
		{"Percentile NaN p", func() error { _, err := Percentile([]float64{1}, math.NaN()); return err }, ErrPercentile},
		{"PercentileSorted empty", func() error { _, err := PercentileSorted(nil, 50); return err }, ErrEmpty},
		{"PercentileSorted bad p", func() error { _, err := PercentileSorted([]float64{1}, 101); return err }, ErrPercentile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want %v", err, tt.want)
			}
		})
	}
}
