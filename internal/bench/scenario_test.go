package bench

import (
	"slices"
	"testing"
)

// TestScenarioTitle names scenarios by their setup, not by the flags that
// made them: the README's main job (scenario 1's limit and traces at 10x)
// is "scenario 1 at 10×", not "custom".
func TestScenarioTitle(t *testing.T) {
	s1 := Scenario{Name: "custom", TotalBytes: 1_100_000_000, Speed: 50, BaseBytes: DefaultBaseBytes, High: slices.Clone(DefaultHigh), Low: slices.Clone(DefaultLow)}
	with := func(f func(*Scenario)) Scenario {
		sc := s1
		f(&sc)
		return sc
	}
	tests := []struct {
		sc     Scenario
		preset string
		title  string
	}{
		{s1, "1", "scenario 1"},
		{with(func(sc *Scenario) { sc.Speed = 10 }), "1", "scenario 1 at 10×"},
		{with(func(sc *Scenario) { sc.TotalBytes = 2_560_000_000; sc.Speed = 20 }), "3", "scenario 3 at 20×"},
		{with(func(sc *Scenario) { sc.TotalBytes = 1_300_000_000 }), "2", "scenario 2"},
		{with(func(sc *Scenario) { sc.TotalBytes = 1_300_000_000; sc.HighIdle = true }), "idle", "scenario idle"},
		{with(func(sc *Scenario) { sc.TotalBytes = 1_200_000_000 }), "", "custom"},
		{with(func(sc *Scenario) { sc.BaseBytes = 0 }), "", "custom"},
		{with(func(sc *Scenario) { sc.Low = sc.Low[:1] }), "", "custom"},
		{with(func(sc *Scenario) { sc.High = []string{"h.json"}; sc.Name = "mine" }), "", "mine"},
		{Scenario{Name: "overhead", Low: []string{"builtin:x"}}, "", "overhead"},
		{with(func(sc *Scenario) {
			sc.TotalBytes, sc.Speed, sc.High, sc.Low = 2_460_000_000, 5, []string{spiky}, []string{steadyLong, steadyLong}
		}), "high-bursty", "scenario high-bursty at 5×"},
		{with(func(sc *Scenario) { sc.TotalBytes, sc.High = 2_460_000_000, []string{spiky} }), "", "custom"},
	}
	for _, tt := range tests {
		p, ok := tt.sc.Preset()
		if ok != (tt.preset != "") || p.Name != tt.preset {
			t.Errorf("%+v: preset %q, %v; want %q", tt.sc, p.Name, ok, tt.preset)
		}
		if got := tt.sc.Title(); got != tt.title {
			t.Errorf("%+v: title %q; want %q", tt.sc, got, tt.title)
		}
	}
}
