package config

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Duration is a Go duration string in the config, such as 50ms or 2s.
type Duration time.Duration

func (d *Duration) parse(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 50ms, 2s or 1m", s)
	}
	if v < 0 {
		return fmt.Errorf("%q is negative", s)
	}
	*d = Duration(v)
	return nil
}

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalYAML writes d as it is read.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// Lease is the daemon's lease (Config.Lease): a Duration within
// [MinLease, MaxLease]. Given as 0 it is refused, not replaced by the
// preset's: a lease cannot be turned off.
type Lease Duration

func (l *Lease) parse(s string) error {
	var d Duration
	if err := d.parse(s); err != nil {
		return err
	}
	if err := checkLease(d.D()); err != nil {
		return err
	}
	*l = Lease(d)
	return nil
}

func checkLease(d time.Duration) error {
	if d < MinLease || d > MaxLease {
		return fmt.Errorf("%v is outside [%v, %v]: the daemon renews its lease every 500 ms or sooner, and a hung daemon keeps LOW slowed until it expires", d, MinLease, MaxLease)
	}
	return nil
}

// D returns l as a time.Duration.
func (l Lease) D() time.Duration { return time.Duration(l) }

func (l Lease) String() string { return time.Duration(l).String() }

// MarshalYAML writes l as it is read.
func (l Lease) MarshalYAML() (any, error) { return l.String(), nil }

// Size is an amount of memory: bytes, or a percentage of a reference the
// field's documentation names.
//
// Units: a plain number is bytes; K, M, G and T, and KiB, MiB, GiB and TiB,
// are powers of 1024 (as the kernel's memory.max reads them); KB, MB, GB
// and TB are powers of 1000. A trailing % makes a percentage.
type Size struct {
	Bytes   uint64
	Percent float64 // in (0, 100] when the size is a percentage
	set     bool    // given in the config, even as 0
}

var sizeUnits = map[string]float64{
	"": 1, "B": 1,
	"K": 1 << 10, "KiB": 1 << 10, "M": 1 << 20, "MiB": 1 << 20,
	"G": 1 << 30, "GiB": 1 << 30, "T": 1 << 40, "TiB": 1 << 40,
	"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
}

func (s *Size) parse(v string) error {
	v = strings.TrimSpace(v)
	if p, ok := strings.CutSuffix(v, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || f <= 0 || f > 100 || math.IsNaN(f) {
			return fmt.Errorf("%q is not a percentage in (0, 100]", v)
		}
		*s = Size{Percent: f, set: true}
		return nil
	}
	i := strings.IndexFunc(v, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := v, ""
	if i >= 0 {
		num, unit = v[:i], strings.TrimSpace(v[i:])
	}
	mult, ok := sizeUnits[unit]
	f, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || f < 0 {
		return fmt.Errorf("%q is not a size such as 400MiB, 1.5G, 100MB or 10%%", v)
	}
	b := f * mult
	if b >= 1<<62 {
		return fmt.Errorf("%q is too large", v)
	}
	*s = Size{Bytes: uint64(b), set: true}
	return nil
}

// IsZero reports whether s is unset: not given, and no preset gave it a
// value.
func (s Size) IsZero() bool { return !s.set && s.Bytes == 0 && s.Percent == 0 }

// Of returns s in bytes, taking a percentage of ref.
func (s Size) Of(ref uint64) uint64 {
	if s.Percent > 0 {
		return uint64(float64(ref) * s.Percent / 100)
	}
	return s.Bytes
}

func (s Size) String() string {
	switch {
	case s.Percent > 0:
		return strconv.FormatFloat(s.Percent, 'f', -1, 64) + "%"
	case s.Bytes != 0 && s.Bytes%(1<<20) == 0:
		return strconv.FormatUint(s.Bytes>>20, 10) + "MiB"
	}
	return strconv.FormatUint(s.Bytes, 10)
}

// MarshalYAML writes s as it is read.
func (s Size) MarshalYAML() (any, error) { return s.String(), nil }

// words is the table of a string enum: every value it may take, in the
// order its error messages and docs/config.md list them. Parsing,
// validation and error messages all read the table, so a value is added
// or removed in one place (and in the docs, which a test checks).
type words[T ~string] []T

// parse sets dst to s if s is one of w.
func (w words[T]) parse(dst *T, s string) error {
	if !slices.Contains(w, T(s)) {
		return fmt.Errorf("%q is not %s", s, w)
	}
	*dst = T(s)
	return nil
}

// String lists w as errors name it: "a, b or c".
func (w words[T]) String() string {
	s := make([]string, len(w))
	for i, v := range w {
		s[i] = string(v)
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// Priority is a class's priority: high or low.
type Priority string

// Priorities.
const (
	High Priority = "high"
	Low  Priority = "low"
)

var priorities = words[Priority]{High, Low}

func (p *Priority) parse(s string) error { return priorities.parse(p, s) }

// Backend selects how memqos acts: auto, structops or cgroupfs.
type Backend string

// Backends.
const (
	BackendAuto      Backend = "auto"
	BackendStructOps Backend = "structops"
	BackendCgroupFS  Backend = "cgroupfs"
)

var backends = words[Backend]{BackendAuto, BackendStructOps, BackendCgroupFS}

func (b *Backend) parse(s string) error { return backends.parse(b, s) }

// Source is where pressure is detected: auto, pgfault, psi or events.
type Source string

// Detector sources.
const (
	SourceAuto    Source = "auto"
	SourcePgfault Source = "pgfault"
	SourcePSI     Source = "psi"
	SourceEvents  Source = "events"
)

var sources = words[Source]{SourceAuto, SourcePgfault, SourcePSI, SourceEvents}

func (s *Source) parse(v string) error { return sources.parse(s, v) }

// Reserve is how the free memory kept for HIGH while memory is contended
// is sized: half_headroom or high_growth.
type Reserve string

// Reserves.
const (
	ReserveHalfHeadroom Reserve = "half_headroom"
	ReserveHighGrowth   Reserve = "high_growth"
)

var reserves = words[Reserve]{ReserveHalfHeadroom, ReserveHighGrowth}

func (r *Reserve) parse(s string) error { return reserves.parse(r, s) }

// Protect is how a HIGH class is protected from reclaim: low (below_low
// or memory.low) or min (below_min or memory.min), or none.
type Protect string

// Protections.
const (
	ProtectNone Protect = "none"
	ProtectLow  Protect = "low"
	ProtectMin  Protect = "min"
)

var protections = words[Protect]{ProtectNone, ProtectLow, ProtectMin}

func (p *Protect) parse(s string) error { return protections.parse(p, s) }

// Slow is how a LOW class is slowed: delay (the charge-time delay hook),
// high (memory.high), or both.
type Slow string

// Ways to slow LOW.
const (
	SlowDelay Slow = "delay"
	SlowHigh  Slow = "high"
	SlowBoth  Slow = "both"
)

var slows = words[Slow]{SlowDelay, SlowHigh, SlowBoth}

func (s *Slow) parse(v string) error { return slows.parse(s, v) }

// Action is what escalation does to a stalled LOW cgroup.
type Action string

// Escalation actions.
const (
	ActionNone   Action = "none"
	ActionFreeze Action = "freeze"
	ActionKill   Action = "kill"
)

var actions = words[Action]{ActionNone, ActionFreeze, ActionKill}

func (a *Action) parse(s string) error { return actions.parse(a, s) }

// PolicyName names a preset: default or reference.
type PolicyName string

// Presets.
const (
	PolicyDefault   PolicyName = "default"
	PolicyReference PolicyName = "reference"
)

var policyNames = words[PolicyName]{PolicyDefault, PolicyReference}

func (p *PolicyName) parse(s string) error { return policyNames.parse(p, s) }

// errEmpty is returned for a required value left empty.
var errEmpty = errors.New("must not be empty")
