package proc

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Status is how a process ended.
type Status struct {
	// Code is the exit status as a shell reports it: the process's exit
	// code, or 128+N if signal N killed it.
	Code int
	// Signal is the signal that killed the process, or 0.
	Signal syscall.Signal
}

// StatusOf returns how the process of ps ended. A nil ps (the process was
// never waited for) is Code -1.
func StatusOf(ps *os.ProcessState) Status {
	if ps == nil {
		return Status{Code: -1}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return Status{Code: 128 + int(ws.Signal()), Signal: ws.Signal()}
	}
	return Status{Code: ps.ExitCode()}
}

// SignalName returns the name of the killing signal ("SIGKILL"), or "".
func (s Status) SignalName() string {
	if s.Signal == 0 {
		return ""
	}
	return unix.SignalName(s.Signal)
}
