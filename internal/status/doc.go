// Package status is what a running memqos daemon reports about itself:
// the Status it serves as JSON on /status, and the client memqos status
// uses to ask for it over the unix socket beside the daemon's state file.
// The server is internal/daemon's.
//
// Fetch's errors name the socket; a daemon that does not answer is an
// error wrapping the dial's.
package status
