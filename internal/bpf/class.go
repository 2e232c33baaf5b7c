package bpf

import (
	"fmt"
	"math"
	"time"
)

// ClassID names a priority class in the BPF maps: 1..MaxClasses-1; 0 means
// none.
type ClassID uint32

// MaxClasses bounds class ids (MAX_CLASSES in c/memqos.h): LOW classes
// keep the HIGH classes they yield to as a 64-bit mask.
const MaxClasses = 64

func (id ClassID) valid() error {
	if id == 0 || id >= MaxClasses {
		return fmt.Errorf("class id %d outside 1..%d", id, MaxClasses-1)
	}
	return nil
}

// Kernel limits on the charge delay (memcg_bpf_ops RFC): a delay of at most
// HZ/100 is ignored, and each sleep is clamped to 2 s.
const (
	MaxDelay = 2000 * time.Millisecond
)

// Window limits: the window has 8 buckets of at least 1 ms, and a bucket
// counts up to 2^24-1 faults (it saturates there).
const (
	windowBuckets = 8
	MinWindow     = windowBuckets * time.Millisecond
	// MaxThreshold is the largest threshold a window can exceed.
	MaxThreshold = windowBuckets*(1<<24-1) - 1
)

// Class kinds and flags, as in c/memqos.h.
const (
	kindHigh = 1
	kindLow  = 2

	flagProtectLow   = 1 << 0
	flagProtectMin   = 1 << 1
	flagRequireArmed = 1 << 2
)

// HighConfig is the policy of a HIGH class.
type HighConfig struct {
	// Threshold is the number of page faults of the class's member
	// subtrees within Window above which the class triggers (goes under
	// pressure). At most MaxThreshold.
	Threshold uint64
	// Window is the sliding window (8 buckets), at least MinWindow.
	Window time.Duration
	// Hold is how long the class stays under pressure after a trigger.
	Hold time.Duration
	// ProtectLow and ProtectMin make below_low / below_min answer true
	// for the class's cgroups while the class is under pressure.
	ProtectLow, ProtectMin bool
	// RequireArmed makes the class trigger only while Detector.Arm has
	// armed it (the caller has seen memory contention).
	RequireArmed bool
}

func (c HighConfig) validate() error {
	if c.Window < MinWindow || c.Hold <= 0 {
		return fmt.Errorf("window %v must be at least %v and hold %v positive", c.Window, MinWindow, c.Hold)
	}
	if c.Threshold > MaxThreshold {
		return fmt.Errorf("threshold %d above %d, which a window cannot count", c.Threshold, uint64(MaxThreshold))
	}
	return nil
}

func (c HighConfig) raw() detectorMemqosClass {
	var flags uint32
	for f, on := range map[uint32]bool{flagProtectLow: c.ProtectLow, flagProtectMin: c.ProtectMin, flagRequireArmed: c.RequireArmed} {
		if on {
			flags |= f
		}
	}
	return detectorMemqosClass{Kind: kindHigh, Flags: flags, Threshold: c.Threshold, WindowNs: uint64(c.Window), HoldNs: uint64(c.Hold)}
}

// LowConfig is the policy of a LOW class.
type LowConfig struct {
	// Delay is the delay of each charge of the class's cgroups (when the
	// delay hook runs: about once per 64 pages) while any HIGH class in
	// YieldsTo is under pressure; 0 means none. The kernel ignores delays
	// of 10 ms or less (at HZ=1000), applies max(its own memory.high
	// penalty, Delay), and clamps at 2 s. Milliseconds; at most MaxDelay.
	Delay time.Duration
	// YieldsTo are the HIGH classes whose pressure slows this class.
	YieldsTo []ClassID
}

func (c LowConfig) validate() error {
	if c.Delay < 0 || c.Delay > MaxDelay {
		return fmt.Errorf("delay %v outside [0, %v]", c.Delay, MaxDelay)
	}
	for _, h := range c.YieldsTo {
		if err := h.valid(); err != nil {
			return fmt.Errorf("yields to: %w", err)
		}
	}
	return nil
}

func (c LowConfig) raw() detectorMemqosClass {
	var mask uint64
	for _, h := range c.YieldsTo {
		mask |= 1 << h
	}
	ms := c.Delay / time.Millisecond
	return detectorMemqosClass{Kind: kindLow, YieldsTo: mask, DelayMs: uint32(min(ms, math.MaxUint32))}
}
