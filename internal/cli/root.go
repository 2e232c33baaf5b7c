// Package cli is the command-line front end of memqos: one file per
// subcommand, and the only package that parses flags. Nothing imports it
// but cmd/memqos.
package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
)

// Main runs memqos with args and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	return exitCode(root.ExecuteContext(ctx), stderr)
}

type globals struct {
	stdout, stderr io.Writer
	logLevel       string
	level          slog.Level // logLevel, checked before any command runs
}

func (g *globals) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: g.level}))
}

// logLevels are the values --log-level accepts.
var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError,
}

// parseLogLevel checks --log-level.
func (g *globals) parseLogLevel() error {
	lvl, ok := logLevels[strings.ToLower(g.logLevel)]
	if !ok {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", g.logLevel)
	}
	g.level = lvl
	return nil
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "memqos",
		Short: "Priority-aware memory isolation between cgroups",
		Long: `memqos keeps high-priority cgroups fast when memory runs short, by slowing
low-priority cgroups down instead of letting the OOM killer pick a victim.
It uses cgroup v2 and, where the kernel has it, the memcg_bpf_ops struct_ops.

Sizes: a size flag's name ends with its unit. -mb is decimal megabytes
(1 MB = 1,000,000 bytes, as in the traces); -mib is mebibytes
(1 MiB = 1,048,576 bytes, as the kernel and qemu count).

Exit status, for every command: 0 success; 1 the command ran and failed (a
selftest failed, the replay worker failed); 3 unsupported by the kernel;
125 memqos itself failed (bad usage, bad input, host setup, privileges);
126 CMD cannot be executed; 127 CMD not found or not given; 137 the replay
worker was OOM-killed; 128+N interrupted, or CMD killed, by signal N.
run, trace record and vm run exit with CMD's own status otherwise.`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: func(*cobra.Command, []string) error { return g.parseLogLevel() },
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.AddCommand(
		newVersionCmd(g),
		newTraceCmd(g),
		newVMCmd(g),
		newProbeCmd(g),
		newRunCmd(g),
		newSelftestCmd(g),
		newDaemonCmd(g),
		newNRICmd(g),
		newStatusCmd(g),
		newBenchCmd(g),
		newReportCmd(g),
		newPodmanCmd(g),
		newSelftestWorkloadCmd(),
	)
	return root
}
