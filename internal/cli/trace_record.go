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
	podman          string // --podman: a running container to record instead of CMD
	o               record.Options
}

func newTraceRecordCmd(g *globals) *cobra.Command {
	var f recordFlags
	cmd := &cobra.Command{
		Use:   "record -o FILE [flags] (CMD [ARGS...] | --podman NAME_OR_ID)",
		Short: "Record the memory of a command, or of a running podman container, as a trace",
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
executed, 127 if it is not found. Needs root, or a delegated cgroup subtree.

With --podman NAME_OR_ID and no CMD, record a running podman container
instead: find its cgroup with podman container inspect and sample that
group, with the same fields and schedule, until the container stops (its
group is removed or has no process left) or memqos gets SIGINT or SIGTERM;
then write FILE and exit 0. Nothing is created, moved or removed: the
container runs on as it would. The trace's name defaults to the
container's. Exit status 125 if the container does not exist or is not
running, podman is not on PATH, or the host is not cgroup v2. Needs read
access to the container's group and podman's privileges to inspect it.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.podman != "" {
				return runRecordPodman(cmd.Context(), g, &f, args)
			}
			return runRecord(cmd.Context(), g, &f, args)
		},
	}
	cmd.Flags().SetInterspersed(false)
	fl := cmd.Flags()
	fl.StringVarP(&f.out, "output", "o", "", `trace file to write, or "-" for stdout (required)`)
	fl.DurationVar(&f.o.Interval, "interval", record.DefaultInterval, "sampling interval")
	fl.StringVar(&f.root, "cgroup-root", cgroup.DefaultRoot, "mount point of the cgroup v2 hierarchy")
	fl.StringVar(&f.name, "name", "", "trace name (default: CMD's base name, or the container's name)")
	fl.StringVar(&f.podman, "podman", "", "record the running podman container NAME_OR_ID instead of running CMD")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

func runRecord(ctx context.Context, g *globals, f *recordFlags, args []string) error {
	if err := checkInterval(f.o.Interval); err != nil {
		return err
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

// checkInterval checks --interval.
func checkInterval(iv time.Duration) error {
	if iv < time.Millisecond {
		return &codeError{exitMemqos, fmt.Errorf("--interval %v: must be at least 1ms", iv)}
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
