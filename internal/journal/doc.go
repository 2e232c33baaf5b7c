// Package journal is the daemon's state file: every cgroup knob memqos
// has changed and not yet restored, with the value it had before. Each
// change is on disk (written atomically, file and directory synced)
// before the knob changes, so a daemon that starts after a crash, or
// stops on a signal, restores them all.
//
// Errors wrap the os errors of reading or writing the file; a file that
// is not a state file is refused by Open, naming the file.
package journal
