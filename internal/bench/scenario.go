package bench

import (
	"slices"
	"strconv"
)

// Preset is a named isolation scenario (memqos bench isolation
// --scenario NAME): a limit, a speed and whether HIGH idles, with the
// default traces and base.
type Preset struct {
	Name     string
	TotalMB  int
	Speed    float64
	HighIdle bool
	About    string
}

// Presets are the named isolation scenarios: the reference study's three,
// and the work-conservation one.
var Presets = []Preset{
	{"1", 1100, 50, false, "the reference's scenario 1: pressure, 1100 MB at 50x"},
	{"2", 1300, 50, false, "the reference's scenario 2: HIGH latency, 1300 MB at 50x"},
	{"3", 2560, 100, false, "the reference's scenario 3: 2560 MB at 100x"},
	{"idle", 1300, 50, true, "work conservation: HIGH holds its peak without allocating while LOW runs, 1300 MB at 50x (room for all three peaks)"},
}

// The isolation bench's default sessions, the reference's: one HIGH and
// two LOW traces, with DefaultBaseBytes added to every sample.
var (
	DefaultHigh = []string{"builtin:dask__dask-11628"}
	DefaultLow  = []string{"builtin:sigmavirus24__github3.py-673", "builtin:sigmavirus24__github3.py-673"}
)

// DefaultBaseBytes is the memory added to every sample of a trace by
// default (--base-mb 100).
const DefaultBaseBytes = 100_000_000

// LookupPreset returns the preset called name.
func LookupPreset(name string) (Preset, bool) {
	for _, p := range Presets {
		if p.Name == name {
			return p, true
		}
	}
	return Preset{}, false
}

// Preset returns the named scenario whose setup sc is: its limit, whether
// HIGH idles, and the default traces and base. The speed may differ:
// docs/RESULTS.md replays scenario 1 at 10x, which a TCG guest keeps up
// with.
func (sc Scenario) Preset() (Preset, bool) {
	if sc.BaseBytes != DefaultBaseBytes || !slices.Equal(sc.High, DefaultHigh) || !slices.Equal(sc.Low, DefaultLow) {
		return Preset{}, false
	}
	for _, p := range Presets {
		if sc.TotalBytes == int64(p.TotalMB)*1_000_000 && sc.HighIdle == p.HighIdle {
			return p, true
		}
	}
	return Preset{}, false
}

// Title names sc for a reader: "scenario 1" for scenario 1's setup at its
// speed, "scenario 1 at 10×" at another, and sc.Name for anything else
// ("custom", "overhead"), whatever name the results were written with.
func (sc Scenario) Title() string {
	p, ok := sc.Preset()
	if !ok {
		return sc.Name
	}
	if sc.Speed == p.Speed {
		return "scenario " + p.Name
	}
	return "scenario " + p.Name + " at " + strconv.FormatFloat(sc.Speed, 'g', -1, 64) + "×"
}
