package report

import (
	"slices"
	"testing"
)

// TestTicks: a linear axis labels at least four round values, zero among
// them; a latency axis labels in µs, ms and s, with at least two labels
// on a narrow range.
func TestTicks(t *testing.T) {
	linear := []struct {
		min, max float64
		want     []string
	}{
		{-0.1, 0.16, []string{"-0.10", "-0.05", "0.00", "0.05", "0.10", "0.15"}},
		{0, 100, []string{"0", "25", "50", "75", "100"}},
		{0, 1150, []string{"0", "250", "500", "750", "1000"}},
		{-12, 13.5, []string{"-10", "-5", "0", "5", "10"}},
		{0, 1.5, []string{"0.0", "0.5", "1.0", "1.5"}},
	}
	for _, tt := range linear {
		var got []string
		for _, tk := range linearTicks.Ticks(tt.min, tt.max) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("linear [%g, %g]: labels %q; want %q", tt.min, tt.max, got, tt.want)
		}
	}
	logs := []struct {
		min, max float64
		want     []string
	}{
		{30, 2e6, []string{"100 µs", "1 ms", "10 ms", "100 ms", "1 s"}},
		{400, 6000, []string{"500 µs", "1 ms", "2 ms", "5 ms"}},
	}
	for _, tt := range logs {
		var got []string
		for _, tk := range latencyTicks.Ticks(tt.min, tt.max) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("latency [%g, %g]: labels %q; want %q", tt.min, tt.max, got, tt.want)
		}
	}
}
