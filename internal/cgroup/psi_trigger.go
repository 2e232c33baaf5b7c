package cgroup

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// ErrNotSupported means the running kernel lacks a feature this package
// needs, for example PSI (CONFIG_PSI, or psi=1 on a kernel built with
// PSI_DEFAULT_DISABLED). It is this package's own sentinel: internal/kernel
// imports this package, so it cannot use kernel.ErrNotSupported.
var ErrNotSupported = errors.New("not supported by this kernel")

// ErrInvalidTrigger means WatchPressure's arguments break the kernel's
// rules for PSI triggers.
var ErrInvalidTrigger = errors.New("invalid PSI trigger")

// Limits of a PSI trigger's window, from kernel/sched/psi.c.
const (
	PSIWindowMin = 500 * time.Millisecond
	PSIWindowMax = 10 * time.Second
	// PSIUnprivilegedGranularity divides the window of a trigger created
	// without CAP_SYS_RESOURCE (Linux 6.5+; older kernels refuse such
	// triggers outright).
	PSIUnprivilegedGranularity = 2 * time.Second
)

// PSITrigger is a PSI trigger on one of a group's pressure files: the
// kernel notifies it when tasks in the group stall for more than a given
// time within a window.
//
// One goroutine waits in poll(2) for the kernel's notifications, and holds
// an OS thread while it waits. C and Err are safe to call from any
// goroutine; Close is safe to call from any goroutine, any number of times.
type PSITrigger struct {
	path   string
	fd     int
	p      *poller
	c      chan time.Time
	once   sync.Once
	ended  chan struct{}
	result result // why the trigger ended
}

// WatchPressure creates a PSI trigger on g's resource.pressure file
// (resource is "memory", "cpu" or "io"): C receives a value whenever tasks
// in g and its descendants stalled for stall or longer within window. kind
// is "some" (at least one task stalled) or "full" (all non-idle tasks
// stalled at once). The kernel notifies at most once per window.
//
// window must be between PSIWindowMin and PSIWindowMax, and stall between
// 1µs and window; both are rounded down to microseconds. Without
// CAP_SYS_RESOURCE the kernel (6.5+) also requires window to be a multiple
// of PSIUnprivilegedGranularity, and the caller needs write access to the
// pressure file (a delegated subtree). Invalid arguments give an error
// wrapping ErrInvalidTrigger; a kernel without PSI, or a group whose
// cgroup.pressure is 0, gives one wrapping ErrNotSupported.
func (g *Group) WatchPressure(resource, kind string, stall, window time.Duration) (*PSITrigger, error) {
	if err := checkTrigger(resource, kind, stall, window); err != nil {
		return nil, err
	}
	name := resource + ".pressure"
	fd, err := g.openTrigger(name, kind, stall, window)
	if err != nil {
		return nil, err
	}
	p, err := newPoller(fd, unix.POLLPRI)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	t := &PSITrigger{
		path: filepath.Join(g.Path(), name), fd: fd, p: p,
		c: make(chan time.Time, 1), ended: make(chan struct{}),
	}
	go t.run()
	return t, nil
}

// checkTrigger applies the kernel's rules for a trigger, so that a bad
// argument gets an error naming it rather than EINVAL.
func checkTrigger(resource, kind string, stall, window time.Duration) error {
	switch {
	case resource != "memory" && resource != "cpu" && resource != "io":
		return fmt.Errorf("%w: resource %q is not memory, cpu or io", ErrInvalidTrigger, resource)
	case kind != "some" && kind != "full":
		return fmt.Errorf("%w: kind %q is not some or full", ErrInvalidTrigger, kind)
	case window < PSIWindowMin || window > PSIWindowMax:
		return fmt.Errorf("%w: window %v is outside %v..%v", ErrInvalidTrigger, window, PSIWindowMin, PSIWindowMax)
	case stall < time.Microsecond || stall > window:
		return fmt.Errorf("%w: stall %v must be between 1µs and the window %v", ErrInvalidTrigger, stall, window)
	}
	return nil
}

// openTrigger opens g's pressure file name and writes the trigger to it.
func (g *Group) openTrigger(name, kind string, stall, window time.Duration) (int, error) {
	p := filepath.Join(g.Path(), name)
	fd, err := unix.Open(p, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, g.triggerError("open", name, err)
	}
	spec := fmt.Sprintf("%s %d %d", kind, stall.Microseconds(), window.Microseconds())
	if _, err := unix.Write(fd, []byte(spec)); err != nil {
		unix.Close(fd)
		return -1, g.triggerError("write "+spec+" to", name, err)
	}
	return fd, nil
}

// triggerError classifies a failure to create a trigger.
func (g *Group) triggerError(op, name string, err error) error {
	fe := classify(op, filepath.Join(g.Path(), name), err)
	switch {
	case errors.Is(err, unix.ENOENT) && !g.Exists():
		fe.Hint = "group " + g.Name() + " does not exist"
	case errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENODEV):
		fe.Kind = ErrNotSupported
		fe.Hint = "PSI is off: it needs CONFIG_PSI, psi=1 on kernels built with PSI_DEFAULT_DISABLED, and cgroup.pressure=1 in the group"
	case errors.Is(err, unix.EINVAL):
		fe.Kind = ErrInvalidTrigger
		fe.Hint = "the kernel refused the trigger; without CAP_SYS_RESOURCE the window must be a multiple of 2s (Linux 6.5+)"
	case errors.Is(err, unix.EBUSY):
		fe.Hint = "this file descriptor already has a trigger"
	}
	return fe
}

// C returns the channel that receives the time of each notification. If
// the receiver falls behind, notifications merge into the one waiting to
// be received. It is closed when the trigger ends.
func (t *PSITrigger) C() <-chan time.Time { return t.c }

// Err returns why the trigger ended on its own, or nil. It is meaningful
// once C is closed.
func (t *PSITrigger) Err() error { return t.result.get() }

// Close removes the trigger and closes C. It returns once the goroutine
// has ended.
func (t *PSITrigger) Close() error {
	var err error
	t.once.Do(func() {
		t.p.wake()
		<-t.ended
		err = errors.Join(unix.Close(t.fd), t.p.close())
	})
	<-t.ended
	return err
}

// run is the trigger's goroutine.
func (t *PSITrigger) run() {
	defer close(t.ended)
	defer close(t.c)
	for {
		revents, woken, err := t.p.wait()
		if err != nil {
			t.result.set(fmt.Errorf("psi trigger on %s: %w", t.path, err))
			return
		}
		if woken {
			return
		}
		// A live trigger reports POLLPRI alone; POLLERR means the kernel
		// has no trigger on this file (any more).
		if revents&unix.POLLPRI == 0 || revents&(unix.POLLERR|unix.POLLNVAL) != 0 {
			t.result.set(&FileError{Op: "poll", Path: t.path, Err: fmt.Errorf("revents %#x", revents), Hint: "the trigger is gone: was the group removed?"})
			return
		}
		t.notify(time.Now())
	}
}

// notify delivers now unless a notification is still waiting.
func (t *PSITrigger) notify(now time.Time) {
	select {
	case t.c <- now:
	default:
	}
}
