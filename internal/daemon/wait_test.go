package daemon

import (
	"context"
	"testing"
	"time"
)

// The guest tests (TestReal*) run the real loop on real cgroups and
// processes, and wait for what they check; the host tests drive the loop
// step by step instead (harness).

// waitFor polls cond until it holds, for at most 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitWithin(t, 20*time.Second, what, cond)
}

// waitWithin polls cond until it holds or patience runs out. It bounds
// liveness; it does not measure speed.
func waitWithin(t *testing.T, patience time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(patience); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// start runs d until the returned function stops it and returns Run's
// error.
func start(d *Daemon) func() error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	return func() error { cancel(); return <-done }
}
