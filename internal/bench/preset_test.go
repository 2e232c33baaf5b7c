package bench

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/memqos/memqos/internal/testutil"
	"github.com/memqos/memqos/internal/trace"
)

// breakers are the presets that break policies (docs/bench.md, "Scenarios
// that break policies"), whose limits and speeds follow the rules checked
// here.
var breakers = []string{"low-over-cap", "low-spike", "high-bursty"}

// TestPresets checks every preset: a unique name, a positive limit and
// speed, traces that load and validate, and a setup that Scenario.Preset
// finds again, under its own name only.
func TestPresets(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Presets {
		t.Run(p.Name, func(t *testing.T) {
			if seen[p.Name] {
				t.Fatalf("preset %q twice", p.Name)
			}
			seen[p.Name] = true
			if p.TotalMB <= 0 || p.Speed <= 0 || p.BaseBytes < 0 || len(p.High) == 0 || len(p.Low) == 0 || p.About == "" {
				t.Fatalf("incomplete preset %+v", p)
			}
			if _, err := loadTraces(p.High, p.Low); err != nil {
				t.Fatal(err)
			}
			sc := presetScenario(p)
			got, ok := sc.Preset()
			if !ok || got.Name != p.Name {
				t.Errorf("Preset() = %q, %v; want %q", got.Name, ok, p.Name)
			}
			if title := sc.Title(); title != "scenario "+p.Name {
				t.Errorf("Title() = %q", title)
			}
		})
	}
}

func presetScenario(p Preset) Scenario {
	return Scenario{Name: p.Name, TotalBytes: int64(p.TotalMB) * 1e6, Speed: p.Speed, BaseBytes: p.BaseBytes,
		High: slices.Clone(p.High), Low: slices.Clone(p.Low), HighIdle: p.HighIdle}
}

// TestBreakerLimits checks the documented rule for the limit of each
// scenario that breaks policies: memory is contended, but not beyond what
// one LOW can yield. HIGH's peak plus any one LOW's fits under the limit,
// the sum of all peaks does not, the limit is the midpoint of the two
// rounded to 10 MB, and the sessions' peaks meet: the peak of their
// summed memory, replayed together from the start, exceeds the limit.
// Peaks include the base.
func TestBreakerLimits(t *testing.T) {
	for _, name := range breakers {
		t.Run(name, func(t *testing.T) {
			p, traces := loadPreset(t, name)
			limit := int64(p.TotalMB) * 1e6
			high := peak(traces[p.High[0]]) + p.BaseBytes
			var sum, largestLow int64 = high, 0
			for _, ref := range p.Low {
				low := peak(traces[ref]) + p.BaseBytes
				sum += low
				largestLow = max(largestLow, low)
				if high+low > limit {
					t.Errorf("HIGH's peak %d + LOW %s's %d exceeds the limit %d", high, ref, low, limit)
				}
			}
			if sum <= limit {
				t.Errorf("the sum of peaks %d fits under the limit %d: no contention", sum, limit)
			}
			if mid := math.Round(float64(high+largestLow+sum)/2/1e7) * 10; float64(p.TotalMB) != mid {
				t.Errorf("limit %d MB; the rule gives %.0f MB", p.TotalMB, mid)
			}
			together := peakTogether(sessionTraces(p, traces), p.BaseBytes)
			if together <= limit {
				t.Errorf("replayed together the sessions peak at %d, within the limit %d", together, limit)
			}
			t.Logf("HIGH + largest LOW %d MB, limit %d MB, peak together %d MB, sum of peaks %d MB",
				(high+largestLow)/1e6, p.TotalMB, together/1e6, sum/1e6)
		})
	}
}

// TestBreakerSpeeds checks the documented rule for the speed of each
// scenario that breaks policies: the largest whole factor at which its
// sessions together grow no faster, on average over the schedule, than
// scenario 1's do at 10x, which a TCG guest keeps up with.
func TestBreakerSpeeds(t *testing.T) {
	s1, s1Traces := loadPreset(t, "1")
	budget := growthRate(s1, s1Traces, 10)
	for _, name := range breakers {
		t.Run(name, func(t *testing.T) {
			p, traces := loadPreset(t, name)
			if p.Speed != math.Trunc(p.Speed) {
				t.Fatalf("speed %g: want a whole factor", p.Speed)
			}
			if r := growthRate(p, traces, p.Speed); r > budget {
				t.Errorf("at %gx the sessions grow %.0f MB/s, more than scenario 1's %.0f MB/s at 10x", p.Speed, r/1e6, budget/1e6)
			}
			t.Logf("%.1f MB/s at %gx (scenario 1: %.1f MB/s at 10x)", growthRate(p, traces, p.Speed)/1e6, p.Speed, budget/1e6)
			if r := growthRate(p, traces, p.Speed+1); r <= budget {
				t.Errorf("at %gx the sessions grow %.0f MB/s, within scenario 1's %.0f MB/s at 10x: the speed is not the largest", p.Speed+1, r/1e6, budget/1e6)
			}
		})
	}
}

// TestBreakerTraces checks that the breakers' traces are the ones the
// documented criteria pick among the shared traces, by the statistics of
// memqos trace stats (100 MB base where the cap is concerned):
//   - the LOW over the cap: the most samples above the reference's
//     400 MiB memory.high;
//   - the LOW with short spikes: the highest peak-to-mean ratio;
//   - the bursty HIGH: the most bursts;
//   - the steady partner: the longest trace, so that the others' bursts
//     all happen while it runs.
func TestBreakerTraces(t *testing.T) {
	files := testutil.SharedTraceFiles(t)
	best := map[string]string{}
	var most, ratio, bursts, longest float64
	for _, f := range files {
		tr, err := trace.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		st, err := trace.ComputeStats(tr)
		if err != nil {
			t.Fatal(err)
		}
		name := trace.BuiltinPrefix + strings.TrimSuffix(filepath.Base(f), ".json")
		pick := func(criterion string, v float64, record *float64) {
			if v > *record {
				*record, best[criterion] = v, name
			}
		}
		pick("over cap", float64(samplesAbove(tr, int64(referenceLowHigh)-DefaultBaseBytes)), &most)
		pick("spike", st.PeakToMean, &ratio)
		pick("bursts", float64(st.Bursts), &bursts)
		pick("longest", tr.Duration().Seconds(), &longest)
	}
	overCap, _ := LookupPreset("low-over-cap")
	spike, _ := LookupPreset("low-spike")
	bursty, _ := LookupPreset("high-bursty")
	want := map[string]string{"over cap": overCap.Low[0], "spike": spike.Low[0], "bursts": bursty.High[0], "longest": spike.High[0]}
	for criterion, ref := range want {
		if best[criterion] != ref {
			t.Errorf("%s: the shared traces' best is %s; the preset has %s", criterion, best[criterion], ref)
		}
	}
}

func loadPreset(t *testing.T, name string) (Preset, map[string]*trace.Trace) {
	t.Helper()
	p, ok := LookupPreset(name)
	if !ok {
		t.Fatalf("no preset %q", name)
	}
	traces, err := loadTraces(p.High, p.Low)
	if err != nil {
		t.Fatal(err)
	}
	return p, traces
}

func sessionTraces(p Preset, traces map[string]*trace.Trace) []*trace.Trace {
	var all []*trace.Trace
	for _, ref := range append(slices.Clone(p.High), p.Low...) {
		all = append(all, traces[ref])
	}
	return all
}

func peak(tr *trace.Trace) int64 {
	var m int64
	for _, s := range tr.Samples {
		m = max(m, s.Total)
	}
	return m
}

func samplesAbove(tr *trace.Trace, threshold int64) int {
	n := 0
	for _, s := range tr.Samples {
		if s.Total > threshold {
			n++
		}
	}
	return n
}

// peakTogether is the peak of the sessions' summed memory when all start
// at once, each holding a sample's total plus base until its next sample
// and nothing after its last.
func peakTogether(all []*trace.Trace, base int64) int64 {
	var m int64
	for _, tr := range all {
		for _, s := range tr.Samples {
			var sum int64
			for _, other := range all {
				sum += heldAt(other, s.TimeMS-tr.Samples[0].TimeMS, base)
			}
			m = max(m, sum)
		}
	}
	return m
}

// heldAt is what tr's replay holds at offset ms from its start.
func heldAt(tr *trace.Trace, ms, base int64) int64 {
	start, ss := tr.Samples[0].TimeMS, tr.Samples
	if ms < 0 || ms > ss[len(ss)-1].TimeMS-start {
		return 0
	}
	i, _ := slices.BinarySearchFunc(ss, ms+start+1, func(s trace.Sample, t int64) int { return int(s.TimeMS - t) })
	return ss[i-1].Total + base
}

// growthRate is the memory the sessions of p grow, summed over every
// increase from nothing, per second of the schedule at speed: bytes the
// guest must zero each second to keep up.
func growthRate(p Preset, traces map[string]*trace.Trace, speed float64) float64 {
	var grown int64
	var longest float64
	for _, tr := range sessionTraces(p, traces) {
		prev := int64(0)
		for _, s := range tr.Samples {
			grown += max(0, s.Total+p.BaseBytes-prev)
			prev = s.Total + p.BaseBytes
		}
		longest = max(longest, tr.Duration().Seconds())
	}
	return float64(grown) / (longest / speed)
}
