package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/podman"
	"github.com/memqos/memqos/internal/trace"
	"github.com/memqos/memqos/internal/trace/record"
)

// runRecordPodman records the running container f.podman until it stops
// or ctx ends (SIGINT, SIGTERM), then writes the trace.
func runRecordPodman(ctx context.Context, g *globals, f *recordFlags, args []string) error {
	if len(args) > 0 {
		return &codeError{exitMemqos, fmt.Errorf("--podman records a running container: no CMD is run, got %q", args[0])}
	}
	if err := checkInterval(f.o.Interval); err != nil {
		return err
	}
	out, err := createOutput(f.out, g.stdout)
	if err != nil {
		return &codeError{exitMemqos, err}
	}
	defer out.close()
	o, err := podmanWatch(ctx, f)
	if err != nil {
		return &codeError{exitMemqos, err}
	}
	o.Log = g.logger()
	tr, err := record.Watch(ctx, o)
	if err != nil {
		return &codeError{exitMemqos, err}
	}
	if err := out.commit(func(w io.Writer) error { return trace.Encode(w, tr) }); err != nil {
		return &codeError{exitMemqos, err}
	}
	return nil
}

// podmanWatch finds the running container f.podman and returns the
// options that record its group.
func podmanWatch(ctx context.Context, f *recordFlags) (record.WatchOptions, error) {
	c, err := runningContainer(ctx, f.podman)
	if err != nil {
		return record.WatchOptions{}, err
	}
	fsys, err := cgroup.Open(f.root)
	if err != nil {
		return record.WatchOptions{}, err
	}
	name := f.name
	if name == "" {
		name = c.Name
	}
	return record.WatchOptions{
		FS: fsys, Group: c.Cgroup, Name: name, Interval: f.o.Interval,
		Source: fmt.Sprintf("memqos record: podman container %s (%s)", c.Name, shortID(c.ID)),
	}, nil
}

// runningContainer inspects the container nameOrID and checks that it
// runs in a cgroup.
func runningContainer(ctx context.Context, nameOrID string) (podman.Container, error) {
	c, err := podman.Inspect(ctx, nameOrID)
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return c, fmt.Errorf("--podman needs podman: %q: %w", podman.Binary, exec.ErrNotFound)
	case err != nil:
		return c, err
	case !c.Running:
		return c, fmt.Errorf("podman container %s (%s) is not running", c.Name, shortID(c.ID))
	case c.Cgroup == "":
		return c, fmt.Errorf("podman container %s (%s): podman reports no cgroup", c.Name, shortID(c.ID))
	}
	return c, nil
}

// shortID is the 12-character id podman shows.
func shortID(id string) string { return id[:min(12, len(id))] }
