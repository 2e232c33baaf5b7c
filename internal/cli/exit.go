package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/memqos/memqos/internal/proc"
	"github.com/spf13/cobra"
)

// Exit statuses of every memqos command: the table in README.md. Commands
// that run CMD (run, trace record, vm run) pass CMD's own status through,
// so memqos's own failures use 125 and up, as docker run does, and a
// replay reports its worker's end the way a shell reports a killed
// process.
const (
	// exitFailed: the command ran and its outcome is a failure (a
	// selftest failed, the replay worker failed).
	exitFailed = 1
	// exitUnsupported: the kernel lacks what the command needs (selftest
	// without memcg_bpf_ops).
	exitUnsupported = 3
	// exitMemqos: memqos itself failed: bad usage or flag values, an
	// unreadable trace, a cgroup v1 host, missing privileges, an
	// unwritable output file, a guest that did not boot or timed out.
	exitMemqos = 125
	// exitCannotExecute and exitNotFound: CMD could not start.
	exitCannotExecute = proc.ExitCannotExecute
	exitNotFound      = proc.ExitNotFound
	// exitOOMKilled: the replay worker was OOM-killed, 128+SIGKILL, as a
	// shell reports a process the OOM killer ended.
	exitOOMKilled = 128 + 9
)

// ExitError asks Main to exit with Code without printing anything more: the
// command has already reported what happened (for example, a guest command's
// own exit status).
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// codeError is an error to print, with the exit code to end with.
type codeError struct {
	code int
	err  error
}

func (e *codeError) Error() string { return e.err.Error() }
func (e *codeError) Unwrap() error { return e.err }

// exitCode prints err, unless it is an *ExitError, and returns the exit
// status it stands for; any error that names no status is exitMemqos.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		return exit.Code
	}
	fmt.Fprintf(stderr, "memqos: %v\n", err)
	var coded *codeError
	var start *proc.StartError
	switch {
	case errors.As(err, &coded):
		return coded.code
	case errors.As(err, &start):
		return start.Code
	}
	return exitMemqos
}

// newChildCmd returns a hidden command that memqos re-executes itself as,
// for a child process of its own: it passes its arguments unparsed to main
// and exits with main's status.
func newChildCmd(use, short string, main func(args []string) int) *cobra.Command {
	return &cobra.Command{
		Use:                use,
		Short:              short,
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			if code := main(args); code != 0 {
				return &ExitError{Code: code}
			}
			return nil
		},
	}
}
