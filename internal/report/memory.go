package report

import (
	"github.com/memqos/memqos/internal/bench"
	"github.com/memqos/memqos/internal/trace/replay"
)

// Memory is what the kernel counted for a class's sessions (replay
// Result.Kernel), per session, averaged over the sessions of all runs
// that have the counters: memory stall in ms, and pages scanned,
// reclaimed, refaulted and swapped out.
type Memory struct {
	// Sessions is how many sessions had the counters; 0 means none did
	// (results from before memqos recorded them, or no PSI for the stall).
	Sessions int
	// StallSessions is how many had the stall (a kernel with PSI).
	StallSessions                           int
	StallSomeMS, StallFullMS                float64
	Scan, Steal, Refault, SwapOut, MajFault float64
}

// kernelOf returns a member's kernel counters: those of any replay that
// has them, completed or not (an OOM-killed session stalled until it
// died), and none for a replay that failed.
func kernelOf(a *bench.LoadedArm, member string) (*replay.Kernel, bool) {
	if a == nil {
		return nil, false
	}
	res := a.Replays[member]
	if res == nil || res.Kernel == nil || res.Status == replay.WorkerFailed {
		return nil, false
	}
	return res.Kernel, true
}

// stallMS is a member's memory stall (some) in ms.
func stallMS(k *replay.Kernel) (float64, bool) {
	if k.Stall == nil {
		return 0, false
	}
	return float64(k.Stall.SomeUS) / 1000, true
}

// meanStallMS is the mean memory stall of a's sessions of class, in ms.
func meanStallMS(a *bench.LoadedArm, class string) (float64, bool) {
	return meanOfClass(a, class, func(member string) (float64, bool) {
		if k, ok := kernelOf(a, member); ok {
			return stallMS(k)
		}
		return 0, false
	})
}

// memoryOf averages the kernel counters of class's sessions over arms.
func memoryOf(arms []*bench.LoadedArm, class string) Memory {
	var m Memory
	for _, a := range arms {
		for _, mem := range a.Members {
			k, ok := kernelOf(a, mem.Name)
			if !ok || mem.Class != class {
				continue
			}
			m.Sessions++
			if k.Stall != nil {
				m.StallSessions++
				m.StallSomeMS += float64(k.Stall.SomeUS) / 1000
				m.StallFullMS += float64(k.Stall.FullUS) / 1000
			}
			m.Scan += float64(k.Stat["pgscan"])
			m.Steal += float64(k.Stat["pgsteal"])
			m.Refault += float64(k.Stat["workingset_refault_anon"] + k.Stat["workingset_refault_file"])
			m.SwapOut += float64(k.Stat["pswpout"] + k.Stat["zswpout"])
			m.MajFault += float64(k.Stat["pgmajfault"])
		}
	}
	if n := float64(m.StallSessions); n > 0 {
		m.StallSomeMS /= n
		m.StallFullMS /= n
	}
	if n := float64(m.Sessions); n > 0 {
		m.Scan, m.Steal, m.Refault, m.SwapOut, m.MajFault = m.Scan/n, m.Steal/n, m.Refault/n, m.SwapOut/n, m.MajFault/n
	}
	return m
}
