package stats

import (
	"errors"
	"math"
	"testing"
)

func TestMeanCI(t *testing.T) {
	tests := []struct {
		name     string
		xs       []float64
		mean, hw float64
	}{
		// 1, 3: mean 2, s = √2, t(1) = 12.706205, hw = t·√2/√2.
		{"n=2", []float64{3, 1}, 2, 12.706204736},
		// 1..5: mean 3, s = √2.5, t(4) = 2.776445, hw = 2.776445·√2.5/√5
		// = 1.963243.
		{"n=5", []float64{5, 1, 4, 2, 3}, 3, 1.963243161},
		// 10, 12, ..., 28: mean 19, variance 4·var(0..9) = 4·82.5/9,
		// s = 6.055301, t(9) = 2.262157, hw = t·s/√10 = 4.331701.
		{"n=10", []float64{10, 12, 14, 16, 18, 20, 22, 24, 26, 28}, 19, 4.331701},
		{"no spread", []float64{4, 4, 4}, 4, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, hw, err := MeanCI(tt.xs)
			if err != nil {
				t.Fatal(err)
			}
			if !near(m, tt.mean) || math.Abs(hw-tt.hw) > 1e-6 {
				t.Errorf("MeanCI = %v ± %v, want %v ± %v", m, hw, tt.mean, tt.hw)
			}
		})
	}
}

func TestMeanCIOneValue(t *testing.T) {
	m, hw, err := MeanCI([]float64{7})
	if err != nil {
		t.Fatal(err)
	}
	if m != 7 || !math.IsNaN(hw) {
		t.Errorf("MeanCI = %v ± %v, want 7 ± NaN", m, hw)
	}
}

func TestMeanCIErrors(t *testing.T) {
	if _, _, err := MeanCI(nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("MeanCI(nil) error = %v, want ErrEmpty", err)
	}
	if _, _, err := MeanCI([]float64{1, math.Inf(-1)}); !errors.Is(err, ErrNotFinite) {
		t.Errorf("MeanCI(-Inf) error = %v, want ErrNotFinite", err)
	}
}

func TestTQuantileTable(t *testing.T) {
	// Published two-sided 95 % critical values.
	for dof, want := range map[int]float64{1: 12.706, 2: 4.303, 3: 3.182, 10: 2.228, 30: 2.042, 120: 1.980} {
		if got := tQuantile(dof); math.Abs(got-want) > 5e-4 {
			t.Errorf("t(%d) = %v, want %v", dof, got, want)
		}
	}
}
