package cgroup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// This file holds the package's hand-written syscall plumbing for
// notifications: an inotify instance read through the Go runtime poller, and
// a poll(2) loop with an eventfd to wake it.

// inotify is an inotify instance. Its descriptor is non-blocking and read
// through the Go runtime poller, so a blocked read costs no thread, and
// close unblocks a concurrent read. add and rm may be called concurrently
// with read; after close they fail with os.ErrClosed.
type inotify struct {
	f  *os.File
	rc syscall.RawConn
}

// inotifyEvent is one event read from an inotify instance.
type inotifyEvent struct {
	wd   int
	mask uint32
	name string // the entry's name inside a watched directory, or ""
}

// newInotify creates an inotify instance.
func newInotify() (*inotify, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify_init1: %w", err)
	}
	f := os.NewFile(uintptr(fd), "inotify")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("inotify: %w", err)
	}
	return &inotify{f: f, rc: rc}, nil
}

// add watches path for the events in mask and returns the watch descriptor.
// Watching a path again returns the same descriptor.
func (in *inotify) add(path string, mask uint32) (int, error) {
	var wd int
	var err error
	cerr := in.rc.Control(func(fd uintptr) { wd, err = unix.InotifyAddWatch(int(fd), path, mask) })
	if cerr != nil {
		return -1, cerr
	}
	if err != nil {
		return -1, classify("inotify_add_watch", path, err)
	}
	return wd, nil
}

// rm removes watch wd. The kernel then queues IN_IGNORED for it.
func (in *inotify) rm(wd int) error {
	var err error
	cerr := in.rc.Control(func(fd uintptr) { _, err = unix.InotifyRmWatch(int(fd), uint32(wd)) })
	return errors.Join(cerr, err)
}

// read blocks until events are queued and returns them. It fails with
// os.ErrClosed once close has been called.
func (in *inotify) read(buf []byte) ([]inotifyEvent, error) {
	n, err := in.f.Read(buf)
	if err != nil {
		return nil, err
	}
	return parseInotify(buf[:n])
}

// close closes the instance, which removes all its watches.
func (in *inotify) close() error { return in.f.Close() }

// inotifyBufSize holds at least one event with the longest name.
const inotifyBufSize = 64 * (unix.SizeofInotifyEvent + unix.NAME_MAX + 1)

// parseInotify decodes the struct inotify_event records in b.
func parseInotify(b []byte) ([]inotifyEvent, error) {
	var evs []inotifyEvent
	for len(b) > 0 {
		if len(b) < unix.SizeofInotifyEvent {
			return evs, fmt.Errorf("inotify: short event of %d bytes", len(b))
		}
		nameLen := int(binary.NativeEndian.Uint32(b[12:16]))
		end := unix.SizeofInotifyEvent + nameLen
		if end > len(b) {
			return evs, fmt.Errorf("inotify: event name of %d bytes overruns the buffer", nameLen)
		}
		evs = append(evs, inotifyEvent{
			wd:   int(int32(binary.NativeEndian.Uint32(b[0:4]))),
			mask: binary.NativeEndian.Uint32(b[4:8]),
			name: cString(b[unix.SizeofInotifyEvent:end]),
		})
		b = b[end:]
	}
	return evs, nil
}

// cString returns b up to its first NUL.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// poller waits in poll(2) for events on one descriptor, and can be woken
// from another goroutine through an eventfd. A goroutine blocked in wait
// holds an OS thread. wait must be called by one goroutine at a time; wake
// is safe to call from any goroutine and at any time before close.
type poller struct {
	fd     int
	events int16
	wakeFD int
}

// newPoller returns a poller for events on fd. It does not own fd.
func newPoller(fd int, events int16) (*poller, error) {
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	return &poller{fd: fd, events: events, wakeFD: efd}, nil
}

// wait blocks until fd has events, which it returns, or until wake is
// called, when it returns woken true.
func (p *poller) wait() (revents int16, woken bool, err error) {
	fds := []unix.PollFd{{Fd: int32(p.fd), Events: p.events}, {Fd: int32(p.wakeFD), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, false, fmt.Errorf("poll: %w", err)
		}
		if fds[1].Revents != 0 {
			return 0, true, nil
		}
		if fds[0].Revents != 0 {
			return fds[0].Revents, false, nil
		}
	}
}

// wake makes the current and every later wait return woken.
func (p *poller) wake() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(p.wakeFD, one[:])
}

// close closes the eventfd. No wait may be running.
func (p *poller) close() error { return unix.Close(p.wakeFD) }

// result holds why a watcher's goroutine ended. The goroutine sets it
// before it closes its channel, so a receiver that saw the channel closed
// reads the final value. Safe for concurrent use.
type result struct {
	mu  sync.Mutex
	err error
}

func (r *result) set(err error) {
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
}

func (r *result) get() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}
