package trace

import (
	"fmt"
	"strconv"
)

// Validate checks the rules of the native format: a name, a non-negative
// interval, at least one sample, non-negative times in non-decreasing
// order, non-negative sizes and counters, PSI averages within [0, 100],
// and events with a kind.
func (t *Trace) Validate() error {
	if t == nil {
		return fmt.Errorf("nil trace: %w", ErrNoSamples)
	}
	if t.Name == "" {
		return fmt.Errorf("name: %w", ErrMissing)
	}
	if t.IntervalMS < 0 {
		return fmt.Errorf("interval_ms %d: %w", t.IntervalMS, ErrNegative)
	}
	if len(t.Samples) == 0 {
		return ErrNoSamples
	}
	for i := range t.Samples {
		if err := t.checkSample(i); err != nil {
			return withIndex("sample", i, err)
		}
	}
	for i := range t.Events {
		if err := t.checkEvent(i); err != nil {
			return withIndex("event", i, err)
		}
	}
	return nil
}

func (t *Trace) checkSample(i int) error {
	s := t.Samples[i]
	if err := checkTime(i, s.TimeMS, func(j int) int64 { return t.Samples[j].TimeMS }); err != nil {
		return err
	}
	checks := []error{
		nonNegative("total", s.Total),
		nonNegativePtr("anon", s.Anon),
		nonNegativePtr("file", s.File),
		s.MemoryEvents.check(),
		s.Pressure.check(),
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	return nil
}

func (t *Trace) checkEvent(i int) error {
	e := t.Events[i]
	if err := checkTime(i, e.TimeMS, func(j int) int64 { return t.Events[j].TimeMS }); err != nil {
		return err
	}
	if e.Kind == "" {
		return &FieldError{Field: "kind", Err: ErrMissing}
	}
	return nil
}

// checkTime checks that the time v of entry i is not negative and not
// before the time of entry i-1, which timeAt returns.
func checkTime(i int, v int64, timeAt func(int) int64) error {
	if err := nonNegative("t_ms", v); err != nil {
		return err
	}
	if i > 0 && v < timeAt(i-1) {
		return &FieldError{Field: "t_ms", Value: itoa(v),
			Err: fmt.Errorf("%w: previous is %d", ErrTimeBackwards, timeAt(i-1))}
	}
	return nil
}

func (m *MemoryEvents) check() error {
	if m == nil {
		return nil
	}
	for _, c := range []struct {
		name string
		v    int64
	}{
		{"low", m.Low}, {"high", m.High}, {"max", m.Max},
		{"oom", m.OOM}, {"oom_kill", m.OOMKill}, {"oom_group_kill", m.OOMGroupKill},
	} {
		if err := nonNegative("memory_events."+c.name, c.v); err != nil {
			return err
		}
	}
	return nil
}

func (p *Pressure) check() error {
	if p == nil {
		return nil
	}
	if err := p.Some.check("pressure.some"); err != nil {
		return err
	}
	return p.Full.check("pressure.full")
}

func (l PressureLine) check(prefix string) error {
	for _, a := range []struct {
		name string
		v    float64
	}{{"avg10", l.Avg10}, {"avg60", l.Avg60}, {"avg300", l.Avg300}} {
		if !(a.v >= 0 && a.v <= 100) {
			return &FieldError{Field: prefix + "." + a.name, Value: strconv.FormatFloat(a.v, 'g', -1, 64),
				Err: fmt.Errorf("%w: not within [0, 100]", ErrOutOfRange)}
		}
	}
	return nonNegative(prefix+".total_us", l.TotalUS)
}

func nonNegative(field string, v int64) error {
	if v < 0 {
		return &FieldError{Field: field, Value: itoa(v), Err: ErrNegative}
	}
	return nil
}

func nonNegativePtr(field string, v *int64) error {
	if v == nil {
		return nil
	}
	return nonNegative(field, *v)
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
