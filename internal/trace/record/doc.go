// Package record runs a command in a fresh cgroup and records its memory
// as a trace (package trace, format memqos-trace/1), or records an existing
// group, such as a running container's, that something else manages.
//
// Record creates the group memqos-record-<pid> below the hierarchy's root,
// starts the command directly inside it (cgroup.Group.Start, so every page
// it allocates is charged there from the first), and samples the group's
// memory.current, memory.stat (anon, file), memory.events and
// memory.pressure every Interval on an absolute schedule: sample k is due
// at start + k·Interval; a late sample is taken at once and the next one
// is the next due time still ahead, so delays never accumulate and missed
// ticks are skipped, not bunched. One more sample is taken when the
// command has exited. Then the group is removed, killing whatever the
// command left running in it.
//
// Signals received on Options.Signals are forwarded to the command, but
// for SIGINT, which the terminal delivers to the command itself (see
// proc.Forward). The
// command's exit status is reported like a shell does: its exit code, or
// 128 + the signal number if a signal killed it.
//
// Record returns an error only when the command could not be run (invalid
// options, a group that cannot be created or read: the cgroup package's
// errors, such as fs.ErrPermission without privileges or cgroup.ErrNotV2 on
// a cgroup v1 host) or when no sample could be taken (trace.ErrNoSamples).
// The command's own failure is not an error but Result.ExitCode. A sample
// that cannot be read during the run is logged and skipped.
//
// Watch samples an existing group in the same way, without creating,
// moving into or removing any group, until the group is removed or has no
// process left, or its context ends. It fails only when the group cannot
// be read at the start or no sample was taken.
//
// Record is not safe for concurrent use by several goroutines of one
// process, since they would share the group's name.
package record
