package proc

import (
	"context"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/memqos/memqos/internal/cgroup"
)

// Notify catches SIGINT and SIGTERM, so that memqos outlives them while a
// command it started runs, and returns the channel to pass to Forward and
// a function that stops catching them.
func Notify() (<-chan os.Signal, func()) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	return sigs, func() { signal.Stop(sigs) }
}

// Forward passes each signal from sigs on to p until done is closed,
// except SIGINT. A command memqos starts stays in memqos's process group,
// so a Ctrl-C on the terminal already reaches it from the terminal;
// forwarding SIGINT as well would deliver it twice. SIGINT sent to
// memqos's pid alone is therefore caught and dropped.
func Forward(p *os.Process, sigs <-chan os.Signal, done <-chan struct{}) {
	for {
		select {
		case s := <-sigs:
			if s != os.Interrupt {
				p.Signal(s)
			}
		case <-done:
			return
		}
	}
}

// Run starts c directly inside g, waits for it while forwarding signals
// as Forward does, and returns how it ended. It fails only if c did not
// start (see Start).
func Run(g *cgroup.Group, c *exec.Cmd) (Status, error) {
	sigs, stop := Notify()
	defer stop()
	if err := Start(g, c); err != nil {
		return Status{}, err
	}
	done := make(chan struct{})
	defer close(done)
	go Forward(c.Process, sigs, done)
	c.Wait() // the ProcessState tells how it ended
	return StatusOf(c.ProcessState), nil
}

// SignalError is the cause of a context that SignalContext canceled.
type SignalError struct{ Signal syscall.Signal }

func (e *SignalError) Error() string { return e.Signal.String() + " signal received" }

// ExitCode is the exit status a shell reports for a process the signal
// ended: 128+N.
func (e *SignalError) ExitCode() int { return 128 + int(e.Signal) }

// SignalContext returns a context that is canceled, with a *SignalError
// as its context.Cause, when one of sigs arrives, and a function that
// stops catching them. Like signal.NotifyContext, it keeps the signals
// from ending the process.
func SignalContext(parent context.Context, sigs ...os.Signal) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	go func() {
		select {
		case s := <-ch:
			cancel(&SignalError{Signal: s.(syscall.Signal)})
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		cancel(context.Canceled)
	}
}
