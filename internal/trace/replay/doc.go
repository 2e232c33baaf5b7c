// Package replay plays a memory trace back as real memory: a worker process
// placed in a cgroup allocates and frees anonymous memory so that its
// footprint follows the trace, sample by sample, on the trace's own
// schedule sped up by a factor.
//
// # Processes
//
// Run, the controller, stays outside the target cgroup. It starts the
// worker (WorkerMain, in memqos the hidden command `memqos trace
// replay-worker`) directly inside the group with cgroup.Group.Start, in a
// process group of its own so that a terminal's Ctrl-C reaches only the
// controller. Because the controller is outside, an OOM kill of the worker
// is observed and reported in the Result, never lost.
//
// # Footprint
//
// For each sample the worker's footprint becomes Target(total, base): the
// sample's total in bytes, exactly as the trace gives it (decimal traces
// stay decimal), plus the base in bytes, rounded up to whole pages. The
// memory is anonymous, in mappings of ChunkSize bytes kept in a list;
// growing write-faults every new page in (mapping chunks as needed) with
// MADV_POPULATE_WRITE, or by writing one byte per page on kernels before
// 5.14,
// shrinking unmaps the chunks wholly above the target and releases the
// excess pages of the last one with MADV_DONTNEED, so the footprint never
// drops below the target. With NoTHP the worker calls
// prctl(PR_SET_THP_DISABLE) first, so no fault maps a transparent huge page.
//
// # Protocol
//
// The controller and the worker talk over the worker's stdin and stdout in
// ASCII lines ending in "\n":
//
//	worker → controller   "R <page_size>"                  once, when ready
//	controller → worker   "<target_bytes>"                 one per sample
//	worker → controller   "A <footprint_bytes> <latency_ns>" one per target
//	worker → controller   "E <message>"                    then exit status 1
//
// The latency is the worker's monotonic time from reading a target to
// having its footprint at that target: page faults, zeroing, reclaim and
// any throttling in the fault path included. The controller sends the next
// target only after the answer to the previous one. End of input tells the
// worker to free everything and exit with status 0.
//
// # Schedule
//
// Sample i is due at start + (t_i − t_0)/speed. A late sample is replayed
// at once and the next one keeps its own due time, so lateness never
// accumulates; each sample's lateness is measured and summarised.
//
// # Errors
//
// Run returns an error, before anything runs, for invalid options, an
// invalid trace (the trace package's errors, wrapped), a --cgroup group
// that does not exist (fs.ErrNotExist), or a cgroup that cannot be created
// or entered (the cgroup package's errors: fs.ErrPermission without
// privileges, cgroup.ErrNotV2 and the rest). Once the worker runs, what
// happens to it (an OOM kill, a failure, an interruption) is not an error
// but the Result's Status.
package replay
