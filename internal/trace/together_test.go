package trace

import (
	"testing"
	"time"
)

func steps(totals ...int64) *Trace {
	t := &Trace{Name: "t", IntervalMS: 1000}
	for i, v := range totals {
		t.Samples = append(t.Samples, Sample{TimeMS: 5000 + int64(i)*1000, Total: v})
	}
	return t
}

func TestComputeTogether(t *testing.T) {
	// a: 100 200 300 300 (ends at 3 s); b: 50 250 250 100 100 100.
	// With base 10: sums 170, 470, 570, 420, 110, 110 (a has ended).
	a, b := steps(100, 200, 300, 300), steps(50, 250, 250, 100, 100, 100)
	tg, err := ComputeTogether([]*Trace{a, b}, 10, 450)
	if err != nil {
		t.Fatal(err)
	}
	want := Together{PeakBytes: 570, PeakAt: 2 * time.Second, Over: 2 * time.Second, ExcessBytes: 120}
	if tg != want {
		t.Errorf("ComputeTogether = %+v, want %+v", tg, want)
	}
	if tg, _ := ComputeTogether([]*Trace{a, b}, 10, 0); tg.Over != 0 || tg.PeakBytes != 570 {
		t.Errorf("no limit: %+v", tg)
	}
}

func TestComputeTogetherUnevenSampling(t *testing.T) {
	// b is sampled between a's samples: at 1.5 s it holds 200 while a
	// holds 100 (its sample at 1 s).
	a := steps(0, 100, 100)
	b := &Trace{Name: "b", Samples: []Sample{{TimeMS: 0, Total: 0}, {TimeMS: 1500, Total: 200}, {TimeMS: 1800, Total: 0}}}
	tg, err := ComputeTogether([]*Trace{a, b}, 0, 250)
	if err != nil {
		t.Fatal(err)
	}
	if tg.PeakBytes != 300 || tg.PeakAt != 1500*time.Millisecond || tg.Over != 300*time.Millisecond || tg.ExcessBytes != 50 {
		t.Errorf("ComputeTogether = %+v", tg)
	}
}

func TestComputeTogetherErrors(t *testing.T) {
	if _, err := ComputeTogether(nil, 0, 0); err == nil {
		t.Error("no trace accepted")
	}
	if _, err := ComputeTogether([]*Trace{{Name: "empty"}}, 0, 0); err == nil {
		t.Error("a trace without samples accepted")
	}
}
