package cli

import (
	"math"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/trace"
)

// ramp is a native trace sampled every 100 ms for 10 s: 0 MB rising by
// 10 MB a second to a 100 MB peak at 10 s, of which all but other bytes
// are anon memory.
func ramp(other int64) *trace.Trace {
	t := &trace.Trace{Name: "ramp", IntervalMS: 100}
	for ms := int64(0); ms <= 10_000; ms += 100 {
		anon := max(0, ms*10_000-other)
		t.Samples = append(t.Samples, trace.Sample{TimeMS: ms, Total: ms * 10_000, Anon: &anon})
	}
	return t
}

func TestBoundsAt(t *testing.T) {
	// podman-stats samples at 0, 1, … 10 s, and one 0.05 s after the
	// native trace's end.
	at := []int64{0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000, 10050}
	// The native values there: 0, 10, … 100 MB, and 100 MB again.
	const mean = (550e6 + 100e6) / 12
	lo, hi := 1-statsRounding, 1+statsRounding
	tests := []struct {
		name  string
		other int64
		lag   time.Duration
		want  bounds
	}{
		{"exact", 0, 0, bounds{100e6 * lo, 100e6 * hi, mean * lo, mean * hi}},
		// A reading up to 0.5 s old may be 5 MB lower, but at 0, before
		// which the first sample stands.
		{"lag", 0, 500 * time.Millisecond, bounds{95e6 * lo, 100e6 * hi, (mean - 11*5e6/12) * lo, mean * hi}},
		// podman stats may count anon memory alone; at 0 there is none.
		{"not anon", 2e6, 0, bounds{98e6 * lo, 100e6 * hi, (mean - 11*2e6/12) * lo, mean * hi}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := boundsAt(ramp(tt.other), at, tt.lag)
			g := []float64{got.peakLow, got.peakHigh, got.meanLow, got.meanHigh}
			w := []float64{tt.want.peakLow, tt.want.peakHigh, tt.want.meanLow, tt.want.meanHigh}
			for i := range g {
				if math.Abs(g[i]-w[i]) > 1 {
					t.Errorf("boundsAt = %+v; want %+v", got, tt.want)
					break
				}
			}
		})
	}
}
