package bpf

import (
	"fmt"

	"github.com/cilium/ebpf"
)

// Counters are one class's counters from the BPF programs, summed over
// CPUs. HIGH classes count faults, triggers and below_low/below_min;
// LOW classes count the delay hook.
type Counters struct {
	// HighFaults are the page faults of the class's member subtrees.
	HighFaults uint64 `json:"high_faults"`
	// Triggers counts faults that found the window above the threshold
	// (and the class armed, if it must be): each starts or extends the
	// class's pressure.
	Triggers       uint64 `json:"triggers"`
	BelowLowCalls  uint64 `json:"below_low_calls"`
	BelowLowActive uint64 `json:"below_low_active"`
	BelowMinCalls  uint64 `json:"below_min_calls"`
	BelowMinActive uint64 `json:"below_min_active"`
	DelayCalls     uint64 `json:"delay_calls"`
	DelayActive    uint64 `json:"delay_active"`
	DelayMsTotal   uint64 `json:"delay_ms_total"`
	// Lost counts window or pressure updates dropped after losing 8
	// compare-and-swap races in a row: faults not counted.
	Lost uint64 `json:"lost_updates"`
	// EventsLost counts trigger events the ring buffer had no room for.
	EventsLost uint64 `json:"trigger_events_lost"`
	// LeaseExpired counts hook calls that would have protected (HIGH)
	// or delayed (LOW) but answered no, because the caller's lease had
	// expired (see Detector.SetLease).
	LeaseExpired uint64 `json:"lease_expired"`
}

// cntMax is CNT_MAX in c/memqos.h; cntTracepointCalls is CNT_TP_CALLS.
const (
	cntTracepointCalls = 0
	cntMax             = 13
)

// counterFields lists the fields in the order of enum counter in
// c/memqos.h, after CNT_TP_CALLS.
func (c *Counters) counterFields() []*uint64 {
	return []*uint64{
		&c.HighFaults, &c.Triggers,
		&c.BelowLowCalls, &c.BelowLowActive, &c.BelowMinCalls, &c.BelowMinActive,
		&c.DelayCalls, &c.DelayActive, &c.DelayMsTotal, &c.Lost, &c.EventsLost, &c.LeaseExpired,
	}
}

// Sub returns c - prev, field by field.
func (c Counters) Sub(prev Counters) Counters {
	out := c
	of, pf := out.counterFields(), prev.counterFields()
	for i := range of {
		*of[i] -= *pf[i]
	}
	return out
}

// Counters returns class id's counters. Safe for concurrent use.
func (d *Detector) Counters(id ClassID) (Counters, error) {
	if err := id.valid(); err != nil {
		return Counters{}, err
	}
	var c Counters
	for i, field := range c.counterFields() {
		v, err := d.counter(uint32(id)*cntMax + uint32(i) + 1)
		if err != nil {
			return Counters{}, fmt.Errorf("class %d: %w", id, err)
		}
		*field = v
	}
	return c, nil
}

// TracepointCalls returns how often the detector's program ran, for any
// cgroup and event. Safe for concurrent use.
func (d *Detector) TracepointCalls() (uint64, error) { return d.counter(cntTracepointCalls) }

func (d *Detector) counter(key uint32) (uint64, error) {
	done, err := d.use()
	if err != nil {
		return 0, err
	}
	defer done()
	return sumCounter(d.objs.Counters, key)
}

// sumCounter reads counter key of the per-CPU counters map m, summed.
func sumCounter(m *ebpf.Map, key uint32) (uint64, error) {
	var perCPU []uint64
	if err := m.Lookup(key, &perCPU); err != nil {
		return 0, fmt.Errorf("read counter %d: %w", key, err)
	}
	var sum uint64
	for _, v := range perCPU {
		sum += v
	}
	return sum, nil
}
