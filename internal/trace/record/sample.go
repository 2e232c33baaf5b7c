package record

import (
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/trace"
)

// nextTick returns the index of the first tick strictly after elapsed, for
// ticks every interval from 0: the next due sample of an absolute
// schedule.
func nextTick(elapsed, interval time.Duration) int64 {
	if elapsed < 0 {
		return 0
	}
	return int64(elapsed/interval) + 1
}

// sampleOf reads g's memory state at offset elapsed. Only memory.pressure
// is optional: it is absent on kernels without PSI.
func sampleOf(g *cgroup.Group, elapsed time.Duration) (trace.Sample, error) {
	cur, err := g.MemoryCurrent()
	if err != nil {
		return trace.Sample{}, err
	}
	st, err := g.MemoryStat()
	if err != nil {
		return trace.Sample{}, err
	}
	ev, err := g.MemoryEvents()
	if err != nil {
		return trace.Sample{}, err
	}
	s := trace.Sample{
		TimeMS: elapsed.Milliseconds(), Total: int64(cur),
		Anon: ptr(int64(st.Anon())), File: ptr(int64(st.File())),
		MemoryEvents: events(ev),
	}
	p, err := g.MemoryPressure()
	switch {
	case err == nil:
		s.Pressure = pressure(p)
	case !errors.Is(err, fs.ErrNotExist):
		return trace.Sample{}, fmt.Errorf("sample: %w", err)
	}
	return s, nil
}

func ptr(v int64) *int64 { return &v }

func events(e cgroup.MemoryEvents) *trace.MemoryEvents {
	return &trace.MemoryEvents{
		Low: int64(e.Low), High: int64(e.High), Max: int64(e.Max), OOM: int64(e.OOM),
		OOMKill: int64(e.OOMKill), OOMGroupKill: int64(e.OOMGroupKill),
	}
}

func pressure(p cgroup.Pressure) *trace.Pressure {
	return &trace.Pressure{Some: pressureLine(p.Some), Full: pressureLine(p.Full)}
}

func pressureLine(l cgroup.PressureLine) trace.PressureLine {
	return trace.PressureLine{Avg10: l.Avg10, Avg60: l.Avg60, Avg300: l.Avg300, TotalUS: l.Total.Microseconds()}
}
