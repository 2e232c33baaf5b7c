package record

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/proc"
	"github.com/memqos/memqos/internal/trace"
)

// DefaultInterval is the sampling interval when Options.Interval is 0.
const DefaultInterval = 100 * time.Millisecond

// Options configure Record.
type Options struct {
	// FS is the cgroup v2 hierarchy.
	FS *cgroup.FS
	// Command is the command to record, not yet started.
	Command *exec.Cmd
	// Name is the trace's name; empty means the command's base name.
	Name string
	// Interval is the sampling interval; 0 means DefaultInterval.
	Interval time.Duration
	// Signals are forwarded to the command while it runs, but for SIGINT
	// (see proc.Forward); nil is none.
	Signals <-chan os.Signal
	// Log receives progress; nil discards it.
	Log *slog.Logger
}

// Result is a recording.
type Result struct {
	// Trace holds the samples, with Source "memqos record: <command>".
	Trace *trace.Trace
	// ExitCode is the command's exit status, or 128 + the signal number
	// if a signal killed it.
	ExitCode int
	// Signal names the signal that killed the command, or is empty.
	Signal string
	// Group is the path of the group that held the command, relative to
	// the root; it no longer exists.
	Group string
}

func (o *Options) check() error {
	switch {
	case o.FS == nil || o.Command == nil:
		return errors.New("record: FS and Command are required")
	case o.Command.Process != nil:
		return errors.New("record: the command has already been started")
	}
	if err := samplingDefaults(&o.Interval, &o.Log); err != nil {
		return err
	}
	if o.Name == "" && len(o.Command.Args) > 0 {
		o.Name = filepath.Base(o.Command.Args[0])
	}
	return nil
}

// Record runs o.Command in a fresh group and records its memory; see the
// package documentation. If the group cannot be removed afterwards, that
// is logged, and is an error only when there is no recording to return.
func Record(ctx context.Context, o Options) (*Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	g, err := proc.CreateGroup(o.FS, "record", o.Log)
	if err != nil {
		return nil, err
	}
	res, err := o.runIn(ctx, g)
	if rerr := proc.RemoveGroup(g); rerr != nil {
		o.Log.Warn("cleanup", "err", rerr)
		if res == nil {
			err = errors.Join(err, rerr)
		}
	}
	return res, err
}

// runIn checks that g has the memory controller, then runs the command.
func (o *Options) runIn(ctx context.Context, g *cgroup.Group) (*Result, error) {
	if _, err := g.MemoryCurrent(); err != nil {
		return nil, fmt.Errorf("record cgroup: %w", err)
	}
	return o.run(ctx, g)
}

// run starts the command in g, samples until it exits, and builds the
// result.
func (o *Options) run(ctx context.Context, g *cgroup.Group) (*Result, error) {
	if err := proc.Start(g, o.Command); err != nil {
		return nil, err
	}
	s := newSampler(g, o.Interval, o.Log)
	o.Log.Info("recording", "command", o.Command.Args, "pid", o.Command.Process.Pid, "cgroup", g.Name(), "interval", o.Interval)
	done := make(chan struct{})
	go func() {
		o.Command.Wait() // ProcessState tells how it ended
		close(done)
	}()
	go proc.Forward(o.Command.Process, o.Signals, done)
	go o.killOnCancel(ctx, g, done)
	s.run(done, func(error) bool { return true })
	s.take() // the final sample, once the command has exited
	return o.result(g, s.samples)
}

// killOnCancel kills g's processes if ctx ends before done is closed; the
// recording goes on until they have exited.
func (o *Options) killOnCancel(ctx context.Context, g *cgroup.Group, done <-chan struct{}) {
	select {
	case <-done:
	case <-ctx.Done():
		o.Log.Warn("recording canceled, killing the command", "err", ctx.Err())
		if err := g.Kill(context.Background()); err != nil {
			o.Log.Warn("kill", "err", err)
		}
	}
}

// result builds the trace and the exit status.
func (o *Options) result(g *cgroup.Group, samples []trace.Sample) (*Result, error) {
	t, err := newTrace(o.Name, "memqos record: "+strings.Join(o.Command.Args, " "), o.Interval, samples)
	if err != nil {
		return nil, err
	}
	st := proc.StatusOf(o.Command.ProcessState)
	o.Log.Info("recorded", "samples", len(samples), "exit", st.Code, "signal", st.SignalName())
	return &Result{Trace: t, ExitCode: st.Code, Signal: st.SignalName(), Group: g.Name()}, nil
}
