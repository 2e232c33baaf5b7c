package kubenode

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// process is a running containerd.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
	mu   sync.Mutex
	err  error // how it exited, once done is closed
}

// startProcess starts containerd with config, its output appended to log,
// in a process group of its own (so that a signal to the test's group does
// not reach it).
func startProcess(config, log string) (*process, error) {
	f, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command("containerd", "--config", config)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start containerd: %w", err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		if err == nil {
			err = errExitedZero
		}
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// errExitedZero is how a containerd that exited with status 0 is reported.
var errExitedZero = fmt.Errorf("containerd exited with status 0")

// exited returns nil while containerd runs, else how it exited.
func (p *process) exited() error {
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.err
	default:
		return nil
	}
}

// stop sends containerd SIGTERM and waits for it to exit, killing it
// after timeout. A clean exit (status 0) is no error.
func (p *process) stop(timeout time.Duration) error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && p.exited() == nil {
		return fmt.Errorf("signal containerd: %w", err)
	}
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("containerd did not exit within %v of SIGTERM; killed", timeout)
	}
	if err := p.exited(); err != errExitedZero {
		return fmt.Errorf("containerd exited after SIGTERM: %w", err)
	}
	return nil
}

// shimsOf returns the pids of the containerd-shim-runc-v2 processes whose
// command line names address (the shims of the containerd listening there).
func shimsOf(address string) ([]int, error) {
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range procs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the process has gone
		}
		args := bytes.Split(b, []byte{0})
		if filepath.Base(string(args[0])) != "containerd-shim-runc-v2" || !bytes.Contains(b, []byte(address)) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(f))); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}
