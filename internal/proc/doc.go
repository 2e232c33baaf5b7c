// Package proc owns the processes memqos runs for others and the groups it
// creates for them: it checks that a command can start and starts it
// directly inside a cgroup, turns its wait status into an exit status as a
// shell reports it, passes signals on to it, and creates and removes the
// groups memqos names by its own pid, including those a killed memqos
// left behind.
//
// Errors: [Start] fails with a *[StartError] when the command was not
// given, not found, or cannot be executed; its Code is the exit status a
// shell uses for that (127 or 126). Other errors are the cgroup package's,
// wrapped with the group's name.
package proc
