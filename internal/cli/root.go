// Package cli is the command-line front end of memqos: one file per
// subcommand, and the only package that parses flags. Nothing imports it
// but cmd/memqos.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"
)

// ExitError asks Main to exit with Code without printing anything more: the
// command has already reported what happened (for example, a guest command's
// own exit status).
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// codeError is an error to print, with the exit code to end with.
type codeError struct {
	code int
	err  error
}

func (e *codeError) Error() string { return e.err.Error() }
func (e *codeError) Unwrap() error { return e.err }

// Main runs memqos with args and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		return exit.Code
	}
	fmt.Fprintf(stderr, "memqos: %v\n", err)
	var coded *codeError
	if errors.As(err, &coded) {
		return coded.code
	}
	return 1
}

type globals struct {
	stdout, stderr io.Writer
	logLevel       string
}

func (g *globals) logger() *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
		lvl = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: lvl}))
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "memqos",
		Short: "Priority-aware memory isolation between cgroups",
		Long: `memqos keeps high-priority cgroups fast when memory runs short, by slowing
low-priority cgroups down instead of letting the OOM killer pick a victim.
It uses cgroup v2 and, where the kernel has it, the memcg_bpf_ops struct_ops.`,
		SilenceUsage:  true,
		SilenceErrors: true,
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
		newSelftestWorkloadCmd(),
	)
	return root
}
