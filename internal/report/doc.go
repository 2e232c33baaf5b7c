// Package report analyzes a bench results directory (package bench's
// format) and renders it: a markdown report, a plain-text table for
// terminals, and SVG plots. It needs nothing but the loaded files, so it
// works on archived results on any host; it is pure apart from Write,
// which writes files. Its functions are safe for concurrent use on
// distinct values.
//
// # Across runs
//
// A bench repeats every arm in each run. Unless said otherwise a metric is
// computed once per run, then averaged over the runs that have it, and
// shown as mean ± h, where h is the half-width of the 95 % confidence
// interval of the mean by Student's t with n−1 degrees of freedom
// (stats.MeanCI). With one run h is unknown and shown as "n/a"; a metric
// without data is "n/a". A replay counts only if its status is
// "completed", unless stated otherwise.
//
// # Isolation metrics
//
// The baselines are solo-high (the HIGH sessions alone) and solo-low (each
// LOW trace alone, one after the other), under the same parent limit, in
// the same run.
//
//   - HIGH stall, LOW stall: per run, the mean over the class's sessions
//     of their memory stall, the increase of their group's
//     memory.pressure "some" total while the schedule ran (replay
//     Result.Kernel), in ms. It counts time stalled in reclaim, throttled
//     (memory.high, the memcg_bpf_ops delay), refaulting or swapping in:
//     what memory cost the session, which CPU contention cannot move.
//     Every replay with the counters counts, completed or not; a failed
//     worker's does not. HIGH's stall against solo-high's is the headline
//     isolation figure.
//   - HIGH slowdown vs solo: per run, the mean over HIGH members of the
//     member's wall_s divided by the same member's wall_s in that run's
//     solo-high. Shown as a ratio and as a change: 1.032 is "+3.2%".
//   - LOW survival: per run, the fraction of the arm's LOW replays whose
//     status is "completed" (an OOM-killed LOW counts against it; a LOW
//     without a result file is left out and listed as a failure). k/n
//     counts the completed replays over all runs.
//   - LOW slowdown vs alone: per run, the mean over completed LOW members
//     of wall_s divided by the wall_s of solo-low's replay of the same
//     trace in that run (a LOW member whose trace solo-low did not replay
//     has none). HIGH members are compared with solo-high's member of the
//     same name and trace.
//   - HIGH alloc time vs solo, LOW alloc time vs alone: the same ratios of
//     allocation time, the sum of latency_us over a replay's "grow" and
//     "shrink" events (the setup excluded): the time the replay spent
//     changing its footprint. A replay that keeps its schedule has the
//     schedule's wall time whatever memory costs it; its allocation time
//     still shows that cost.
//   - HIGH wall, LOW wall: per run, the mean wall_s of the completed
//     members of the class, in seconds.
//   - LOW/HIGH wall: per run, LOW wall divided by HIGH wall, the priority
//     ratio that the reference strategy aims at; shown for comparison.
//   - LOW throughput vs none (work-conservation scenario, high_idle only):
//     per run, none's LOW wall divided by the strategy's LOW wall; 1.0
//     means the idle HIGH cost LOW nothing more than no isolation did.
//   - Allocation latency: the latency_us of every "grow" event (the
//     "setup" event excluded) of every member of the class, pooled over
//     runs; P50, P95, P99 by stats.Percentile (type 7), and the maximum.
//     Completed or not, every replay's events count.
//   - memory.events: each member's memory_events_delta (high, max, oom,
//     oom_kill), summed over the class's members, averaged over runs.
//   - Memory, as the kernel counted it: per class, each session's stall
//     (some and full) and memory.stat increases (pgscan, pgsteal,
//     workingset_refault_anon + _file, pswpout + zswpout, pgmajfault),
//     averaged over the sessions of all runs that have them.
//   - Daemon counters: each counter of the daemon report whose name
//     contains "trigger" or "delay", averaged over the runs whose daemon
//     reported it.
//
// # Against the reference
//
// Each strategy but the reference is compared with the reference run by
// run, on HIGH stall, HIGH alloc time vs solo (in % points), HIGH P95
// grow (the P95 of the arm's HIGH grow latencies, ms), LOW survival (%
// points), LOW wall vs alone (% points) and LOW stall: per run that has
// both arms, the difference strategy − reference, then the mean of those
// differences with its CI. The verdict is "better" or "worse" only where
// the CI excludes 0 (lower is better, except survival), "tie" where it
// contains 0, and none with fewer than two paired runs.
//
// # Outcomes
//
// An isolation session the OOM killer took is a result of its strategy,
// listed per arm and class with the runs it happened in. It is called
// expected when every such session had a memory.max, set by the strategy
// (static), below its trace's peak.
//
// # Overhead metrics
//
// Each daemon strategy is compared with "none" run by run: for a metric
// x, the run's difference is (x_strategy − x_none) / x_none in %, and the
// report shows the mean difference with its CI. "inside the noise" means
// the CI contains 0; "outside the noise" that it does not.
//
//   - micro P50, P95, P99 latency: percentiles of the grow events'
//     latencies of the "micro" member (the allocation microbenchmark).
//   - micro throughput: the bytes the micro member's grow events added
//     (each event's footprint minus the previous one's) divided by the sum
//     of their latencies, in MB/s (10⁶ bytes per second).
//   - trace completion: the "trace" member's wall_s.
//   - trace grow P95 latency: the P95 of the trace member's grow events.
//
// # Failures
//
// An arm missing from a run, an arm with an error, a daemon that failed or
// did not restore every knob, a member without a result file, and a
// replay that ended otherwise than "completed" (except an isolation
// session killed by the OOM killer, an outcome, and an idle HIGH that the
// bench interrupted once LOW was done) are listed as failures: what went
// wrong, not what a strategy did. They never stop the analysis: their values are left out.
//
// # Determinism
//
// Equal results give byte-identical output: arms follow the manifest's
// order, floats have fixed formats, and the SVGs reference their fonts by
// name and carry no ids or times.
package report
