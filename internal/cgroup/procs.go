package cgroup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// pollInterval is how often state changes (frozen, populated) are polled.
const pollInterval = 5 * time.Millisecond

// AddProc moves process pid (all its threads) into g.
func (g *Group) AddProc(pid int) error {
	return g.write("cgroup.procs", strconv.Itoa(pid))
}

// Procs returns the pids of the processes directly in g.
func (g *Group) Procs() ([]int, error) {
	s, err := g.ReadString("cgroup.procs")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(s) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("parse %s/cgroup.procs: %w", g.Path(), err)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// Events reads cgroup.events ("populated" and "frozen").
func (g *Group) Events() (populated, frozen bool, err error) {
	kv, err := g.readKeyed("cgroup.events")
	if err != nil {
		return false, false, err
	}
	return kv["populated"] == 1, kv["frozen"] == 1, nil
}

// Freeze stops every process in g and its descendants, and waits until the
// kernel reports the group frozen or ctx ends.
func (g *Group) Freeze(ctx context.Context) error { return g.setFrozen(ctx, true) }

// Thaw resumes the processes that Freeze stopped, and waits until the
// kernel reports the group thawed or ctx ends.
func (g *Group) Thaw(ctx context.Context) error { return g.setFrozen(ctx, false) }

func (g *Group) setFrozen(ctx context.Context, frozen bool) error {
	v := "0"
	if frozen {
		v = "1"
	}
	if err := g.write(CgroupFreeze, v); err != nil {
		return err
	}
	return g.waitFor(ctx, "frozen="+v, func() (bool, error) {
		_, f, err := g.Events()
		return f == frozen, err
	})
}

// Kill sends SIGKILL to every process in g and its descendants through
// cgroup.kill (Linux 5.14+), or, on older kernels, by freezing the group
// and signalling each process. It does not wait for them to exit; see
// WaitEmpty.
func (g *Group) Kill(ctx context.Context) error {
	err := g.write(CgroupKill, "1")
	if err == nil || !errors.Is(err, fs.ErrNotExist) || !g.Exists() {
		return err
	}
	return g.killEach(ctx)
}

// killEach is Kill for kernels without cgroup.kill.
func (g *Group) killEach(ctx context.Context) error {
	if err := g.Freeze(ctx); err != nil {
		return err
	}
	err := g.walk(func(c *Group) error {
		pids, err := c.Procs()
		for _, pid := range pids {
			if kerr := unix.Kill(pid, unix.SIGKILL); kerr != nil && !errors.Is(kerr, unix.ESRCH) {
				return fmt.Errorf("kill pid %d in %s: %w", pid, c.Path(), kerr)
			}
		}
		return err
	})
	return errors.Join(err, g.Thaw(ctx))
}

// WaitEmpty waits until no process is left in g or its descendants.
func (g *Group) WaitEmpty(ctx context.Context) error {
	return g.waitFor(ctx, "populated=0", func() (bool, error) {
		p, _, err := g.Events()
		return !p, err
	})
}

func (g *Group) waitFor(ctx context.Context, what string, done func() (bool, error)) error {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s in %s: %w", what, g.Path(), ctx.Err())
		case <-t.C:
		}
	}
}

// walk calls fn on g and then on each descendant, parents first.
func (g *Group) walk(fn func(*Group) error) error {
	if err := fn(g); err != nil {
		return err
	}
	children, err := g.Children()
	if err != nil {
		return err
	}
	for _, c := range children {
		if err := c.walk(fn); err != nil {
			return err
		}
	}
	return nil
}

// Start starts cmd directly inside g, with clone3(CLONE_INTO_CGROUP), so
// that no byte the child allocates is charged elsewhere. The target must be
// a group without controllers enabled for children (ErrInternalProcess).
func (g *Group) Start(cmd *exec.Cmd) error {
	dir, err := g.OpenDir()
	if err != nil {
		return err
	}
	defer dir.Close()
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.UseCgroupFD = true
	cmd.SysProcAttr.CgroupFD = int(dir.Fd())
	if err := cmd.Start(); err != nil {
		fe := g.fileError("clone into", "cgroup.procs", err)
		return fmt.Errorf("start %s: %w", cmd.Path, fe)
	}
	return nil
}

// Remove deletes g and all its descendants. Processes still inside are
// moved to moveTo, or killed if moveTo is nil; Remove waits for killed
// processes to leave before it removes the directories, deepest first.
// Removing a group that does not exist is not an error.
func (g *Group) Remove(ctx context.Context, moveTo *Group) error {
	if !g.Exists() {
		return nil
	}
	if g.IsRoot() {
		return fmt.Errorf("remove %s: refusing to remove the root group", g.Path())
	}
	var err error
	if moveTo != nil {
		err = g.walk(func(c *Group) error { return c.moveProcs(moveTo) })
	} else {
		err = g.Kill(ctx)
	}
	if err != nil {
		return err
	}
	if err := g.WaitEmpty(ctx); err != nil {
		return err
	}
	return g.rmdirTree()
}

func (g *Group) moveProcs(dst *Group) error {
	pids, err := g.Procs()
	for _, pid := range pids {
		if merr := dst.AddProc(pid); merr != nil && !errors.Is(merr, unix.ESRCH) {
			return merr
		}
	}
	return err
}

// rmdirTree removes g's directory tree, deepest first.
func (g *Group) rmdirTree() error {
	children, err := g.Children()
	if err != nil {
		return err
	}
	for _, c := range children {
		if err := c.rmdirTree(); err != nil {
			return err
		}
	}
	if err := os.Remove(g.Path()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return classify("rmdir", g.Path(), err)
	}
	return nil
}
