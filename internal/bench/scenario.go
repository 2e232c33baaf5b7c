package bench

import (
	"slices"
	"strconv"
	"strings"
)

// Preset is a named isolation scenario (memqos bench isolation
// --scenario NAME): its sessions' traces and base, the parent's limit, a
// speed and whether HIGH idles.
type Preset struct {
	Name     string
	TotalMB  int
	Speed    float64
	HighIdle bool
	// High and Low are the sessions' traces, one per session.
	High, Low []string
	// BaseBytes is the memory added to every sample of every trace.
	BaseBytes int64
	About     string
}

// Presets are the named isolation scenarios: the reference study's three
// and the work-conservation one, on the default traces, then three that
// break policies, each on traces chosen by their statistics
// (docs/bench.md): a LOW over the reference's 400 MiB cap, a LOW with
// short spikes, a bursty HIGH.
var Presets = []Preset{
	{Name: "1", TotalMB: 1100, Speed: 50, High: DefaultHigh, Low: DefaultLow, BaseBytes: DefaultBaseBytes,
		About: "the reference's scenario 1: pressure, 1100 MB at 50x"},
	{Name: "2", TotalMB: 1300, Speed: 50, High: DefaultHigh, Low: DefaultLow, BaseBytes: DefaultBaseBytes,
		About: "the reference's scenario 2: HIGH latency, 1300 MB at 50x"},
	{Name: "3", TotalMB: 2560, Speed: 100, High: DefaultHigh, Low: DefaultLow, BaseBytes: DefaultBaseBytes,
		About: "the reference's scenario 3: 2560 MB at 100x"},
	{Name: "idle", TotalMB: 1300, Speed: 50, HighIdle: true, High: DefaultHigh, Low: DefaultLow, BaseBytes: DefaultBaseBytes,
		About: "work conservation: HIGH holds its peak without allocating while LOW runs, 1300 MB at 50x (room for all three peaks)"},
	{Name: "low-over-cap", TotalMB: 3270, Speed: 3, High: []string{steadyLong}, Low: []string{spiky, spiky}, BaseBytes: DefaultBaseBytes,
		About: "two LOW sessions above the reference's 400 MiB cap for 15 % of their samples, up to 1962 MB, with a steady HIGH, 3270 MB at 3x"},
	{Name: "low-spike", TotalMB: 2460, Speed: 7, High: []string{steadyLong}, Low: []string{spiky, steadyLong}, BaseBytes: DefaultBaseBytes,
		About: "one LOW with short spikes to 6x its mean next to a steady LOW and a steady HIGH, 2460 MB at 7x"},
	{Name: "high-bursty", TotalMB: 2460, Speed: 7, High: []string{spiky}, Low: []string{steadyLong, steadyLong}, BaseBytes: DefaultBaseBytes,
		About: "a HIGH with nine bursts, up to 6x its mean, against two steady LOW sessions, 2460 MB at 7x"},
}

// The isolation bench's default sessions, the reference's: one HIGH and
// two LOW traces, with DefaultBaseBytes added to every sample.
var (
	DefaultHigh = []string{"builtin:dask__dask-11628"}
	DefaultLow  = []string{"builtin:sigmavirus24__github3.py-673", "builtin:sigmavirus24__github3.py-673"}
)

// The traces of the scenarios that break policies: the burstiest of the
// shared traces and the longest, which is steady.
const (
	spiky      = "builtin:pre-commit__pre-commit-2524"
	steadyLong = "builtin:dask__dask-2205"
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

// PresetNames returns the presets' names, in order, for messages:
// "1, 2, 3, idle, ...".
func PresetNames() string {
	names := make([]string, len(Presets))
	for i, p := range Presets {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

// Preset returns the named scenario whose setup sc is: its traces, base,
// limit and whether HIGH idles. The speed may differ: docs/RESULTS.md
// replays scenario 1 at 10x, which a TCG guest keeps up with.
func (sc Scenario) Preset() (Preset, bool) {
	for _, p := range Presets {
		if sc.TotalBytes == int64(p.TotalMB)*1_000_000 && sc.HighIdle == p.HighIdle && sc.BaseBytes == p.BaseBytes &&
			slices.Equal(sc.High, p.High) && slices.Equal(sc.Low, p.Low) {
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
