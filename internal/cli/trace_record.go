package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/proc"
	"github.com/memqos/memqos/internal/trace"
	"github.com/memqos/memqos/internal/trace/record"
	"github.com/spf13/cobra"
)

type recordFlags struct {
	out, root, name string
	o               record.Options
}

func newTraceRecordCmd(g *globals) *cobra.Command {
	var f recordFlags
	cmd := &cobra.Command{
		Use:   "record -o FILE [flags] CMD [ARGS...]",
		Short: "Run a command in a fresh cgroup and record its memory as a trace",
		Long: `Run CMD in a fresh cgroup, memqos-record-<pid> below --cgroup-root, started
directly inside it, and sample the group's memory.current, memory.stat (anon
and file), memory.events and memory.pressure every --interval, on an absolute
schedule (late samples do not shift the ones after them), plus once more when
CMD exits. Write the samples to FILE as a native trace (memqos-trace/1, see
docs/trace-format.md), then remove the group, killing what CMD left in it.

CMD stays in memqos's process group: a Ctrl-C on the terminal reaches it
directly, and memqos records until it exits. SIGTERM sent to memqos is
forwarded to CMD. FILE is checked to be writable before CMD starts; a
regular FILE is replaced atomically at the end, and "-o -" writes the
trace to stdout (CMD's stdout then goes to stderr).

Exit status: CMD's, or 128+N if signal N killed it; 125 if memqos failed
(cgroup v1 host, no privileges, unwritable FILE), 126 if CMD cannot be
executed, 127 if it is not found. Needs root, or a delegated cgroup subtree.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRecord(cmd.Context(), g, &f, args)
		},
	}
	cmd.Flags().SetInterspersed(false)
	fl := cmd.Flags()
	fl.StringVarP(&f.out, "output", "o", "", `trace file to write, or "-" for stdout (required)`)
	fl.DurationVar(&f.o.Interval, "interval", record.DefaultInterval, "sampling interval")
	fl.StringVar(&f.root, "cgroup-root", cgroup.DefaultRoot, "mount point of the cgroup v2 hierarchy")
	fl.StringVar(&f.name, "name", "", "trace name (default: CMD's base name)")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

func runRecord(ctx context.Context, g *globals, f *recordFlags, args []string) error {
	if f.o.Interval < time.Millisecond {
		return &codeError{exitMemqos, fmt.Errorf("--interval %v: must be at least 1ms", f.o.Interval)}
	}
	out, err := createOutput(f.out, g.stdout)
	if err != nil {
		return &codeError{exitMemqos, err}
	}
	defer out.close()
	c, err := recordCommand(g, args)
	if err != nil {
		return err
	}
	if out.isStdout() {
		c.Stdout = g.stderr // stdout holds the trace alone
	}
	fsys, err := cgroup.Open(f.root)
	if err != nil {
		return &codeError{exitMemqos, err}
	}
	res, err := recordWithSignals(ctx, g, f, fsys, c)
	if err != nil {
		return &codeError{exitMemqos, err}
	}
	if err := out.commit(func(w io.Writer) error { return trace.Encode(w, res.Trace) }); err != nil {
		return &codeError{exitMemqos, err}
	}
	if res.ExitCode != 0 {
		return &ExitError{Code: res.ExitCode}
	}
	return nil
}

// recordCommand builds CMD with memqos's standard streams, failing with
// a *proc.StartError (127 or 126) if it cannot start.
func recordCommand(g *globals, args []string) (*exec.Cmd, error) {
	if err := proc.Check(args); err != nil {
		return nil, err
	}
	c := exec.Command(args[0], args[1:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, g.stdout, g.stderr
	return c, nil
}

// recordWithSignals records c, forwarding signals to it as proc.Forward does. The
// command decides when to end, so ctx's cancellation by those signals
// does not stop the recording.
func recordWithSignals(ctx context.Context, g *globals, f *recordFlags, fsys *cgroup.FS, c *exec.Cmd) (*record.Result, error) {
	sigs, stop := proc.Notify()
	defer stop()
	o := f.o
	o.FS, o.Command, o.Name, o.Signals, o.Log = fsys, c, f.name, sigs, g.logger()
	return record.Record(context.WithoutCancel(ctx), o)
}
