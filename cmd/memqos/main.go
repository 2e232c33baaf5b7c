// Command memqos gives Linux hosts priority-aware memory isolation between
// cgroups. All behaviour lives in internal/cli; this file only wires the
// process to it.
package main

import (
	"context"
	"os"
	"syscall"

	"github.com/memqos/memqos/internal/cli"
	"github.com/memqos/memqos/internal/proc"
)

func main() {
	ctx, stop := proc.SignalContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
