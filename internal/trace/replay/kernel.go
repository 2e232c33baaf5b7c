package replay

import (
	"errors"
	"io/fs"

	"github.com/memqos/memqos/internal/cgroup"
)

// Kernel is what the kernel counted for the replay's group while the
// schedule ran: from sample 0 reached (the setup excluded, like the
// allocation latencies) to the replay's end. Unlike a latency, no CPU
// contention can make these numbers grow: they count time stalled on
// memory and pages reclaimed.
type Kernel struct {
	// Stall is the increase of memory.pressure's totals; nil on a kernel
	// without PSI.
	Stall *Stall `json:"memory_stall,omitempty"`
	// Stat is the increase of memory.stat's reclaim and swap counters
	// (StatCounters), those the kernel has.
	Stat map[string]uint64 `json:"memory_stat_delta"`
}

// Stall is time in µs in which some (SomeUS) or all (FullUS) of the
// group's tasks were stalled on memory: in reclaim, throttled above
// memory.high or by the memcg_bpf_ops delay, refaulting thrashed pages,
// or waiting for swap-in.
type Stall struct {
	SomeUS uint64 `json:"some_us"`
	FullUS uint64 `json:"full_us"`
}

// StatCounters are the memory.stat counters a replay records the increase
// of: pages scanned and reclaimed, refaults of evicted pages, major
// faults, and swap and zswap traffic (absent without swap or zswap, and
// pswpin/pswpout before Linux 6.7).
var StatCounters = []string{
	"pgscan", "pgsteal", "workingset_refault_anon", "workingset_refault_file",
	"pgmajfault", "pswpin", "pswpout", "zswpin", "zswpout",
}

// kernelSnapshot is the group's counters at one moment.
type kernelSnapshot struct {
	stall *Stall
	stat  cgroup.MemoryStat
}

// snapshotKernel reads g's memory.pressure (when the kernel has PSI) and
// memory.stat.
func snapshotKernel(g *cgroup.Group) (kernelSnapshot, error) {
	var k kernelSnapshot
	p, err := g.MemoryPressure()
	switch {
	case err == nil:
		k.stall = &Stall{SomeUS: uint64(p.Some.Total.Microseconds()), FullUS: uint64(p.Full.Total.Microseconds())}
	case !errors.Is(err, fs.ErrNotExist):
		return k, err
	}
	k.stat, err = g.MemoryStat()
	return k, err
}

// since is what the kernel counted from before to k.
func (k kernelSnapshot) since(before kernelSnapshot) *Kernel {
	out := &Kernel{Stat: map[string]uint64{}}
	if k.stall != nil && before.stall != nil {
		out.Stall = &Stall{SomeUS: delta(k.stall.SomeUS, before.stall.SomeUS), FullUS: delta(k.stall.FullUS, before.stall.FullUS)}
	}
	for _, name := range StatCounters {
		v, ok := k.stat[name]
		v0, ok0 := before.stat[name]
		if ok && ok0 {
			out.Stat[name] = delta(v, v0)
		}
	}
	return out
}

// delta is b − a for counters that only grow; 0 if a counter went back
// (the group was recreated under the same name).
func delta(b, a uint64) uint64 {
	if b < a {
		return 0
	}
	return b - a
}
