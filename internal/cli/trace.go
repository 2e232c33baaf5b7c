package cli

import "github.com/spf13/cobra"

// newTraceCmd groups the commands that work on memory traces. Each
// subcommand lives in a file of its own (trace_stats.go, trace_record.go,
// trace_replay.go); replay-worker is hidden, memqos trace replay runs it.
func newTraceCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trace",
		Short: "Record, inspect and replay memory traces",
		Long: `Memory traces are series of memory samples of one workload, in the native
memqos format (docs/trace-format.md) or as podman stats resources.json.
Where a command takes a trace, "builtin:NAME" names a built-in one.`,
	}
	cmd.AddCommand(
		newTraceStatsCmd(g),
		newTraceRecordCmd(g),
		newTraceReplayCmd(g),
		newTraceReplayWorkerCmd(),
	)
	return cmd
}
