package bpf

// Counters are the BPF programs' counters, summed over CPUs.
type Counters struct {
	TracepointCalls uint64 `json:"tracepoint_calls"`
	HighFaults      uint64 `json:"high_faults"`
	Triggers        uint64 `json:"triggers"`
	BelowLowCalls   uint64 `json:"below_low_calls"`
	BelowLowActive  uint64 `json:"below_low_active"`
	BelowMinCalls   uint64 `json:"below_min_calls"`
	BelowMinActive  uint64 `json:"below_min_active"`
	DelayCalls      uint64 `json:"delay_calls"`
	DelayActive     uint64 `json:"delay_active"`
	DelayMsTotal    uint64 `json:"delay_ms_total"`
}

// counterFields lists the fields in the order of enum counter in
// c/memqos.h.
func (c *Counters) counterFields() []*uint64 {
	return []*uint64{
		&c.TracepointCalls, &c.HighFaults, &c.Triggers,
		&c.BelowLowCalls, &c.BelowLowActive, &c.BelowMinCalls, &c.BelowMinActive,
		&c.DelayCalls, &c.DelayActive, &c.DelayMsTotal,
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
