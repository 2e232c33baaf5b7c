package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/proc"
	"github.com/memqos/memqos/internal/trace"
	"github.com/memqos/memqos/internal/trace/replay"
	"github.com/spf13/cobra"
)

// replayWorkerCmd names the hidden `memqos trace` subcommand that runs the
// replay's worker.
const replayWorkerCmd = "replay-worker"

type replayFlags struct {
	out, root, group string
	baseMB           float64
	o                replay.Options
}

func newTraceReplayCmd(g *globals) *cobra.Command {
	var f replayFlags
	cmd := &cobra.Command{
		Use:   "replay TRACE [flags]",
		Short: "Replay a memory trace as real memory in a cgroup",
		Long: `Replay TRACE (a file, or builtin:NAME) as real memory: a worker process in a
cgroup allocates anonymous memory, touching every page, and frees it, so that
its footprint is each sample's total plus --base-mb, at the sample's time
divided by --speed. memqos stays outside the cgroup, so it sees and reports
an OOM kill of the worker. See docs/replay.md.

Sizes are exact: trace values are bytes, and --base-mb is decimal
(1 MB = 1,000,000 bytes), like the traces. The worker's group is a fresh
memqos-replay-<pid> below --cgroup-root, removed afterwards, or with
--cgroup an existing group (its full path, or its path relative to
--cgroup-root), left in place. Inside a container, whose cgroup file system
is read-only, --cgroup self keeps the worker in memqos's own group, the
container's; memqos's few MB then count with the worker's.

--no-thp disables transparent huge pages in the worker. Use it for LOW
workloads under the memcg_bpf_ops backend: THP faults are charged outside
the path its delay throttles, so with THP a LOW replay escapes the delay.

The result (JSON, docs/replay.md) goes to -o FILE, or to stdout.

Exit status: 0 completed; 1 the worker failed; 137 the worker was
OOM-killed (128+SIGKILL); 130 or 143 interrupted by SIGINT or SIGTERM
(128+N); 125 nothing replayed (bad arguments, trace or cgroup). The result
is written in every case but 125; "-o -" writes it to stdout, as no -o does.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReplay(cmd.Context(), g, &f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.Float64Var(&f.o.Speed, "speed", 50, "replay this many times faster than the trace")
	fl.Float64Var(&f.baseMB, "base-mb", 100, "memory added to every sample, in decimal MB")
	fl.StringVar(&f.group, "cgroup", "", "existing cgroup for the worker: its full path, its path relative to --cgroup-root, or \"self\" for memqos's own (inside a container) (default: a fresh one)")
	fl.StringVar(&f.root, "cgroup-root", cgroup.DefaultRoot, "mount point of the cgroup v2 hierarchy")
	fl.StringVarP(&f.out, "output", "o", "", "result file (default: stdout)")
	fl.BoolVar(&f.o.NoTHP, "no-thp", false, "disable transparent huge pages in the worker")
	return cmd
}

func runReplay(ctx context.Context, g *globals, f *replayFlags, ref string) error {
	o, err := replayOptions(g, f, ref)
	if err != nil {
		return err
	}
	var out *output
	if f.out != "" && f.out != "-" {
		if out, err = createOutput(f.out, g.stdout); err != nil {
			return err
		}
		defer out.close()
	}
	if o.FS, err = cgroup.Open(f.root); err != nil {
		return err
	}
	res, err := replay.Run(ctx, o)
	if err != nil {
		return err
	}
	if err := writeReplayResult(g, out, res); err != nil {
		return err
	}
	return replayExit(ctx, res)
}

// replayOptions checks the flags, loads the trace and prepares the worker
// command; the caller sets FS.
func replayOptions(g *globals, f *replayFlags, ref string) (replay.Options, error) {
	o := f.o
	var err error
	if o.Base, err = baseBytes(f.baseMB); err != nil {
		return o, err
	}
	if !(o.Speed > 0) {
		return o, fmt.Errorf("--speed %v: must be positive", o.Speed)
	}
	if o.Trace, err = trace.LoadRef(ref); err != nil {
		return o, err
	}
	o.Group, o.Log = f.group, g.logger()
	o.Command, err = workerCommand(g)
	return o, err
}

// maxBaseMB bounds --base-mb (a petabyte), far from int64's limit.
const maxBaseMB = 1e9

// baseBytes converts --base-mb (decimal MB) to bytes, rounded to a byte.
func baseBytes(mb float64) (int64, error) {
	if !(mb >= 0 && mb <= maxBaseMB) {
		return 0, fmt.Errorf("--base-mb %v: must be between 0 and %g", mb, maxBaseMB)
	}
	return int64(math.Round(mb * 1e6)), nil
}

// workerCommand re-executes this binary as the replay worker.
func workerCommand(g *globals) (func([]string) *exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("locate the memqos binary for the replay worker: %w", err)
	}
	return func(args []string) *exec.Cmd {
		c := exec.Command(exe, append([]string{"trace", replayWorkerCmd}, args...)...)
		c.Stderr = g.stderr
		return c
	}, nil
}

// writeReplayResult writes the result as JSON to out, or to stdout; with
// out it prints a summary on stdout.
func writeReplayResult(g *globals, out *output, res *replay.Result) error {
	write := func(w io.Writer) error { return writeJSON(w, res) }
	if out == nil {
		return write(g.stdout)
	}
	if err := out.commit(write); err != nil {
		return err
	}
	_, err := fmt.Fprintln(g.stdout, replaySummary(res))
	return err
}

// replaySummary is one line for people; the numbers are in the result.
func replaySummary(r *replay.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s, %d/%d samples in %.3f s (scheduled %.3f s, fidelity %.3f)",
		r.Trace, r.Status, r.SamplesReplayed, r.Samples, r.WallS, r.ScheduledS, r.Fidelity)
	fmt.Fprintf(&b, "; peak footprint %.1f MB, cgroup peak %.1f MB", float64(r.PeakFootprintBytes)/1e6, float64(r.CgroupPeakBytes)/1e6)
	if r.Latency.All != nil {
		fmt.Fprintf(&b, "; adjustment P50 %.0f µs, P99 %.0f µs, max %.0f µs", r.Latency.All.P50, r.Latency.All.P99, r.Latency.All.Max)
	}
	fmt.Fprintf(&b, "; %d late samples, max %.0f µs", r.Lateness.LateSamples, r.Lateness.MaxUS)
	if r.OOMKilled {
		fmt.Fprintf(&b, "; OOM-killed (%s, oom_kill +%d)", r.Exit.Signal, r.OOMKillDelta)
	}
	return b.String()
}

// replayExit is the error that ends memqos with the replay's exit status;
// ctx tells which signal interrupted it.
func replayExit(ctx context.Context, r *replay.Result) error {
	switch r.Status {
	case replay.Completed:
		return nil
	case replay.OOMKilled:
		return &codeError{exitOOMKilled, fmt.Errorf("replay of %s: the worker was OOM-killed after %d of %d samples", r.Trace, r.SamplesReplayed, r.Samples)}
	case replay.Interrupted:
		return &codeError{interruptedCode(ctx), fmt.Errorf("replay of %s interrupted after %d of %d samples", r.Trace, r.SamplesReplayed, r.Samples)}
	}
	return &codeError{exitFailed, fmt.Errorf("replay of %s failed: %s", r.Trace, r.Error)}
}

// interruptedCode is 128+N for the signal N that canceled ctx, as a shell
// reports a process the signal ended; 130 (SIGINT) when ctx does not say.
func interruptedCode(ctx context.Context) int {
	var sig *proc.SignalError
	if errors.As(context.Cause(ctx), &sig) {
		return sig.ExitCode()
	}
	return 128 + int(syscall.SIGINT)
}

func newTraceReplayWorkerCmd() *cobra.Command {
	return newChildCmd(replayWorkerCmd+" [no-thp]", "Run the worker of memqos trace replay (protocol on stdin and stdout)",
		func(args []string) int {
			// Default signal actions: the controller may kill the worker.
			signal.Reset(os.Interrupt, syscall.SIGTERM)
			return replay.WorkerMain(args)
		})
}
