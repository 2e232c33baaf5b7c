package trace

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/stats"
)

// series builds a trace with one sample per second.
func series(totals ...int64) *Trace {
	t := &Trace{Name: "s", IntervalMS: 1000}
	for i, v := range totals {
		t.Samples = append(t.Samples, Sample{TimeMS: int64(i) * 1000, Total: v})
	}
	return t
}

func TestComputeStats(t *testing.T) {
	// Sorted: 100 100 100 100 200 200 300; median 100, threshold 150;
	// runs above it: {200 200} and {300}.
	st, err := ComputeStats(series(100, 100, 200, 200, 100, 300, 100))
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{
		Name: "s", Samples: 7, Duration: 6 * time.Second,
		Total: stats.Summary{Count: 7, Min: 100, Max: 300, Mean: 1100.0 / 7,
			P50: 100, P90: 240, P95: 270, P99: 294},
		PeakToMean: 300 / (1100.0 / 7), BurstThreshold: 150, Bursts: 2,
	}
	if !statsNear(st, want) {
		t.Errorf("ComputeStats =\n %+v\nwant\n %+v", st, want)
	}
}

func statsNear(a, b Stats) bool {
	near := func(x, y float64) bool { return math.Abs(x-y) <= 1e-9*math.Max(1, math.Abs(y)) }
	return a.Name == b.Name && a.Samples == b.Samples && a.Duration == b.Duration &&
		a.Bursts == b.Bursts && near(a.PeakToMean, b.PeakToMean) &&
		near(a.BurstThreshold, b.BurstThreshold) && a.Total.Count == b.Total.Count &&
		near(a.Total.Min, b.Total.Min) && near(a.Total.Max, b.Total.Max) &&
		near(a.Total.Mean, b.Total.Mean) && near(a.Total.P50, b.Total.P50) &&
		near(a.Total.P90, b.Total.P90) && near(a.Total.P95, b.Total.P95) &&
		near(a.Total.P99, b.Total.P99)
}

func TestBursts(t *testing.T) {
	tests := []struct {
		name   string
		totals []int64
		want   int
	}{
		{"single sample", []int64{5}, 0},
		{"flat", []int64{10, 10, 10}, 0},
		{"exactly at threshold is not a burst", []int64{100, 100, 150}, 0},
		{"just above threshold", []int64{100, 100, 151}, 1},
		{"one long run", []int64{100, 100, 100, 400, 400, 400, 100}, 1},
		{"run at start and end", []int64{400, 100, 100, 100, 400}, 2},
		{"separated by one low sample", []int64{100, 100, 100, 100, 400, 100, 400}, 2},
		{"zero median counts any non-zero run", []int64{0, 0, 0, 1, 0}, 1},
		// Median 300, threshold 450: the long high phase raises the
		// median, so only the excursion above 450 counts.
		{"high phase raises the median", []int64{100, 300, 300, 300, 500}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := ComputeStats(series(tt.totals...))
			if err != nil {
				t.Fatal(err)
			}
			if st.Bursts != tt.want {
				t.Errorf("Bursts = %d, want %d (threshold %v)", st.Bursts, tt.want, st.BurstThreshold)
			}
		})
	}
}

func TestComputeStatsZeroMean(t *testing.T) {
	st, err := ComputeStats(series(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if st.PeakToMean != 0 || st.Bursts != 0 {
		t.Errorf("PeakToMean, Bursts = %v, %d; want 0, 0", st.PeakToMean, st.Bursts)
	}
}

func TestComputeStatsEmpty(t *testing.T) {
	_, err := ComputeStats(&Trace{Name: "e"})
	if !errors.Is(err, stats.ErrEmpty) {
		t.Errorf("error = %v, want stats.ErrEmpty", err)
	}
}

// TestComputeStatsBuiltin pins the statistics of the built-in traces; the
// means agree with the "avg" of the files' own summaries.
func TestComputeStatsBuiltin(t *testing.T) {
	tests := []struct {
		name           string
		samples        int
		meanMB, peakMB float64
		bursts         int
	}{
		{"dask__dask-11628", 95, 197.894, 320.9, 1},
		{"sigmavirus24__github3.py-673", 99, 213.426, 305.5, 0},
		{"dask__dask-2205", 353, 208.064, 229.2, 0},
		{"pre-commit__pre-commit-2524", 314, 306.133, 1862, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := Builtin(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			st, err := ComputeStats(tr)
			if err != nil {
				t.Fatal(err)
			}
			if st.Samples != tt.samples || math.Abs(st.Total.Mean/1e6-tt.meanMB) > 0.001 ||
				st.Total.Max/1e6 != tt.peakMB || st.Bursts != tt.bursts {
				t.Errorf("samples %d, mean %.3f MB, peak %.1f MB, bursts %d; want %d, %.3f, %.1f, %d",
					st.Samples, st.Total.Mean/1e6, st.Total.Max/1e6, st.Bursts, tt.samples, tt.meanMB, tt.peakMB, tt.bursts)
			}
		})
	}
}

func TestComputeStatsNil(t *testing.T) {
	if _, err := ComputeStats(nil); !errors.Is(err, ErrNoSamples) {
		t.Errorf("ComputeStats(nil) error = %v, want ErrNoSamples", err)
	}
}
