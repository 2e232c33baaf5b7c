package bpf

import (
	"fmt"
	"time"
)

// Kernel limits on the charge delay (memcg_bpf_ops RFC): a delay of at most
// HZ/100 is ignored, and each sleep is clamped to 2 s.
const (
	MaxDelay = 2000 * time.Millisecond
)

// Config is the policy the BPF programs apply.
type Config struct {
	// Threshold is the number of HIGH page faults within Window above
	// which HIGH is under pressure.
	Threshold uint64
	// Window is the length of the sliding window (8 buckets).
	Window time.Duration
	// Protect is how long HIGH stays under pressure after a trigger.
	Protect time.Duration
	// Delay is the charge delay of LOW cgroups while HIGH is under
	// pressure. The kernel ignores delays of 10 ms or less (at HZ=1000),
	// applies max(its own memory.high penalty, Delay), and clamps at 2 s.
	Delay time.Duration
	// ProtectLow and ProtectMin make below_low / below_min report HIGH
	// cgroups as protected while HIGH is under pressure.
	ProtectLow bool
	ProtectMin bool
}

// DefaultConfig is the reference experiment's policy.
func DefaultConfig() Config {
	return Config{Threshold: 1, Window: time.Second, Protect: time.Second, Delay: 2000 * time.Millisecond, ProtectLow: true}
}

func (c Config) validate() error {
	if c.Window <= 0 || c.Protect <= 0 {
		return fmt.Errorf("window %v and protection %v must be positive", c.Window, c.Protect)
	}
	if c.Delay < 0 || c.Delay > MaxDelay {
		return fmt.Errorf("delay %v outside [0, %v]", c.Delay, MaxDelay)
	}
	return nil
}

func (c Config) raw(pgfault uint32) detectorMemqosConfig {
	b := func(v bool) uint32 {
		if v {
			return 1
		}
		return 0
	}
	return detectorMemqosConfig{
		Threshold:   c.Threshold,
		WindowNs:    uint64(c.Window),
		ProtectNs:   uint64(c.Protect),
		PgfaultItem: pgfault,
		DelayMs:     uint32(c.Delay / time.Millisecond),
		ProtectLow:  b(c.ProtectLow),
		ProtectMin:  b(c.ProtectMin),
	}
}
