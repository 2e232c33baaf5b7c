package replay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
)

// stopTimeout bounds how long the controller waits for the worker to free
// its memory and exit after its input ends, before it kills it.
const stopTimeout = 30 * time.Second

// errWorkerExited means the worker's output ended: it exited or was killed.
var errWorkerExited = errors.New("worker exited")

// WorkerError is an error the worker reported with an "E" line.
type WorkerError struct{ Message string }

func (e *WorkerError) Error() string { return "worker: " + e.Message }

// received is one line from the worker, or why there is none.
type received struct {
	reply Reply
	err   error
}

// workerProc is the controller's handle on a running worker.
type workerProc struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	replies chan received
}

// startWorker starts cmd inside g, in a process group of its own, with
// its stdin and stdout connected to the controller. With inherit, g is the
// caller's own group, which cmd inherits.
func startWorker(g *cgroup.Group, inherit bool, cmd *exec.Cmd) (*workerProc, error) {
	cmd.Stdin, cmd.Stdout = nil, nil
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("worker stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("worker stdout: %w", err)
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	start := g.Start
	if inherit {
		start = func(cmd *exec.Cmd) error { return cmd.Start() }
	}
	if err := start(cmd); err != nil {
		return nil, fmt.Errorf("start worker in %s: %w", g.Name(), err)
	}
	p := &workerProc{cmd: cmd, stdin: stdin, replies: make(chan received, 1)}
	go p.read(stdout)
	return p, nil
}

// read passes the worker's lines on until its output ends.
func (p *workerProc) read(r io.Reader) {
	defer close(p.replies)
	br := bufio.NewReader(r)
	for {
		rp, err := ReadReply(br)
		if errors.Is(err, io.EOF) {
			return
		}
		p.replies <- received{rp, err}
		if err != nil {
			return
		}
	}
}

// next returns the worker's next line; an "E" line is a *WorkerError.
func (p *workerProc) next(ctx context.Context) (Reply, error) {
	select {
	case <-ctx.Done():
		return Reply{}, ctx.Err()
	case m, ok := <-p.replies:
		switch {
		case !ok:
			return Reply{}, errWorkerExited
		case m.err != nil:
			return Reply{}, m.err
		case m.reply.Kind == 'E':
			return Reply{}, &WorkerError{Message: m.reply.Message}
		}
		return m.reply, nil
	}
}

// ready waits for the worker's "R" line and returns its page size.
func (p *workerProc) ready(ctx context.Context) (int64, error) {
	rp, err := p.next(ctx)
	if err != nil {
		return 0, err
	}
	if rp.Kind != 'R' {
		return 0, fmt.Errorf("%w: want a ready line first, got %q", ErrProtocol, rp.Kind)
	}
	return rp.PageSize, nil
}

// adjust sends target and waits for the answer.
func (p *workerProc) adjust(ctx context.Context, target int64) (Reply, error) {
	if err := WriteTarget(p.stdin, target); err != nil {
		if errors.Is(err, syscall.EPIPE) {
			return Reply{}, errWorkerExited
		}
		return Reply{}, fmt.Errorf("send target: %w", err)
	}
	rp, err := p.next(ctx)
	if err == nil && rp.Kind != 'A' {
		err = fmt.Errorf("%w: want an answer, got %q", ErrProtocol, rp.Kind)
	}
	return rp, err
}

// stop ends the worker's input, waits for it to exit (killing it after
// stopTimeout) and returns how it ended.
func (p *workerProc) stop() *os.ProcessState {
	p.stdin.Close()
	if !p.drain(stopTimeout) {
		p.cmd.Process.Kill()
		p.drain(stopTimeout)
	}
	p.cmd.Wait() // the ProcessState tells how it ended
	return p.cmd.ProcessState
}

// kill kills the worker; stop still waits for it.
func (p *workerProc) kill() { p.cmd.Process.Kill() }

// drain discards the worker's remaining lines until its output ends, and
// reports whether it did within d.
func (p *workerProc) drain(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case _, ok := <-p.replies:
			if !ok {
				return true
			}
		case <-timer.C:
			return false
		}
	}
}
