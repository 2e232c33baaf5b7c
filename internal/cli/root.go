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
	// cobra adds its help and completion commands only at Execute; add
	// them now, so that completion is a group like the others and help
	// can be told to refuse unknown topics.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	refuseUnknownCommands(root)
	root.SetFlagErrorFunc(flagError)
	root.SetUsageTemplate(groupUsageTemplate(root))
	return root
}

// refuseUnknownCommands makes every command from c down that only groups
// others (memqos, bench, trace, vm, ...) refuse an argument that is none
// of its commands, with the nearest names and exit status 125, as
// kubectl and podman do; memqos help refuses the same paths. cobra alone
// does this only for the root: a group without Run prints its help and
// succeeds, whatever follows it. A group given nothing prints its help
// and succeeds.
func refuseUnknownCommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		refuseUnknownCommands(sub)
	}
	switch {
	case c.Name() == "help" && c.Parent() == c.Root():
		// memqos help bench isolaton: the error of memqos bench isolaton.
		c.Args = func(cmd *cobra.Command, args []string) error {
			found, rest, err := cmd.Root().Find(args)
			if err != nil {
				return err
			}
			if len(rest) > 0 && found.HasSubCommands() {
				return unknownCommandError(found, rest[0])
			}
			return nil
		}
	case c.HasSubCommands() && !c.Runnable():
		c.Args = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			return unknownCommandError(cmd, args[0])
		}
		// Without a Run, cobra prints the help before it checks Args.
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
}

// flagError is cobra's flag error for every command, but for a group's
// unknown command before the bad flag (memqos trace replai x -o FILE):
// cobra parses the group's flags first, and the misspelt command is the
// mistake to report.
func flagError(cmd *cobra.Command, err error) error {
	if args := cmd.Flags().Args(); len(args) > 0 && cmd.HasSubCommands() && cmd.Name() != "help" {
		return unknownCommandError(cmd, args[0])
	}
	return err
}

// groupUsageTemplate is cobra's usage template without the line
// "memqos bench [flags]" for a group, which has a RunE only to refuse
// unknown commands: a group's usage is "memqos bench [command]".
func groupUsageTemplate(root *cobra.Command) string {
	return strings.Replace(root.UsageTemplate(), "{{if .Runnable}}", "{{if and .Runnable (not .HasAvailableSubCommands)}}", 1)
}

// unknownCommandError says that group has no command name, with the
// nearest of its commands (cobra's suggestions: edit distance 2 or a
// prefix); it is a usage error, exit status 125.
func unknownCommandError(group *cobra.Command, name string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "unknown command %q for %q", name, group.CommandPath())
	if group.SuggestionsMinimumDistance <= 0 {
		group.SuggestionsMinimumDistance = 2
	}
	if s := group.SuggestionsFor(name); len(s) > 0 {
		b.WriteString("\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t") + "\n")
	}
	fmt.Fprintf(&b, "\nRun '%s --help' for usage.", group.CommandPath())
	return &codeError{exitMemqos, errors.New(b.String())}
}
