package proc

import (
	"errors"
	"io/fs"
	"os/exec"
	"syscall"

	"github.com/memqos/memqos/internal/cgroup"
)

// Exit statuses of a command that did not start, as a shell and docker run
// use them.
const (
	ExitCannotExecute = 126 // found, but not executable
	ExitNotFound      = 127 // not found, or no command given
)

// StartError says why a command could not start.
type StartError struct {
	// Name is the command as given; empty when none was given.
	Name string
	// Code is ExitNotFound or ExitCannotExecute.
	Code int
	// Err is the underlying error.
	Err error
}

func (e *StartError) Error() string {
	switch {
	case e.Name == "":
		return "no command given"
	case e.Code == ExitNotFound:
		return "command not found: " + e.Name
	}
	return "cannot execute " + e.Name + ": " + reason(e.Err)
}

// reason is why a file cannot be executed, without the file's name.
func reason(err error) string {
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno):
		return errno.Error()
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	return err.Error()
}

func (e *StartError) Unwrap() error { return e.Err }

// Check reports whether argv names a command that can be started: nil, or
// a *StartError.
func Check(argv []string) error {
	if len(argv) == 0 || argv[0] == "" {
		return &StartError{Code: ExitNotFound, Err: exec.ErrNotFound}
	}
	_, err := exec.LookPath(argv[0])
	switch {
	case err == nil:
		return nil
	case errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return &StartError{Name: argv[0], Code: ExitNotFound, Err: err}
	}
	return &StartError{Name: argv[0], Code: ExitCannotExecute, Err: err}
}

// Start checks c's command with Check, then starts c directly inside g.
// If the kernel refuses the file's format (ENOEXEC), that too is a
// *StartError.
func Start(g *cgroup.Group, c *exec.Cmd) error {
	if err := Check(c.Args); err != nil {
		return err
	}
	err := g.Start(c)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.ENOEXEC):
		return &StartError{Name: c.Args[0], Code: ExitCannotExecute, Err: err}
	}
	return err
}
