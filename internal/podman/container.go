package podman

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path"
	"strings"
	"time"
)

// Mount is a host path bound into a container.
type Mount struct {
	Host, Container string
	ReadOnly        bool
}

// CreateOptions are what `podman create` needs to make a sandbox
// container.
type CreateOptions struct {
	// Name is the container's name; it must be unique on the host.
	Name  string
	Image string
	// CgroupParent is the group the container's own group goes into, as a
	// path relative to the cgroup v2 mount ("/agents/low"); with podman's
	// cgroupfs manager the container's group is CgroupParent/libpod-<id>.
	CgroupParent string
	Mounts       []Mount
	// Command is the command run in the container.
	Command []string
}

// CreateArgs returns the arguments of `podman create` for o: the container
// has no network and no init, so that its command is its first process.
func (o CreateOptions) CreateArgs() ([]string, error) {
	switch {
	case o.Name == "" || o.Image == "" || len(o.Command) == 0:
		return nil, fmt.Errorf("podman create: a container needs a name (%q), an image (%q) and a command (%q)", o.Name, o.Image, o.Command)
	case o.CgroupParent != "" && !path.IsAbs(o.CgroupParent):
		return nil, fmt.Errorf("podman create %s: cgroup parent %q: want a path from the cgroup mount, starting with /", o.Name, o.CgroupParent)
	}
	args := []string{"create", "--name", o.Name, "--network", "none"}
	if o.CgroupParent != "" {
		args = append(args, "--cgroup-parent", o.CgroupParent)
	}
	for _, m := range o.Mounts {
		if strings.Contains(m.Host, ":") || strings.Contains(m.Container, ":") {
			return nil, fmt.Errorf("podman create %s: mount %s:%s: a path with ':' cannot be bound", o.Name, m.Host, m.Container)
		}
		v := m.Host + ":" + m.Container
		if m.ReadOnly {
			v += ":ro"
		}
		args = append(args, "--volume", v)
	}
	args = append(args, o.Image)
	return append(args, o.Command...), nil
}

// Create creates the container o describes, without starting it, and
// returns its id.
func Create(ctx context.Context, o CreateOptions) (string, error) {
	args, err := o.CreateArgs()
	if err != nil {
		return "", err
	}
	out, err := run(ctx, args...)
	if err != nil {
		return "", err
	}
	id := strings.TrimSpace(out)
	if id == "" {
		return "", fmt.Errorf("podman create %s: no container id printed", o.Name)
	}
	return id, nil
}

// Init makes the container's runtime create it without running its
// command: with crun, its cgroup then exists and holds only the runtime's
// waiting init process, until Start.
func Init(ctx context.Context, nameOrID string) error {
	_, err := run(ctx, "init", nameOrID)
	return err
}

// Start starts a created (or initialized) container and waits for it to
// exit, with its output on out. It returns the container's exit status;
// the error is set only when podman itself failed.
func Start(ctx context.Context, nameOrID string, out io.Writer) (int, error) {
	cmd := exec.CommandContext(ctx, Binary, "start", "--attach", nameOrID)
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && ctx.Err() == nil {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return -1, fmt.Errorf("podman start %s: %w", nameOrID, err)
	}
	return 0, nil
}

// Kill sends signal (a name, such as "TERM") to the container's first
// process.
func Kill(ctx context.Context, nameOrID, signal string) error {
	_, err := run(ctx, "kill", "--signal", signal, nameOrID)
	return err
}

// Remove removes the container, stopping it first if it still runs.
func Remove(ctx context.Context, nameOrID string) error {
	_, err := run(ctx, "rm", "--force", "--time", "2", nameOrID)
	return err
}

// CgroupOf returns the cgroup of a created container, relative to the
// cgroup mount: what Inspect reports, or, before the container runs (when
// podman may not report it), parent/libpod-<id>, where podman's cgroupfs
// manager puts it.
func CgroupOf(ctx context.Context, nameOrID, parent string) (Container, error) {
	c, err := Inspect(ctx, nameOrID)
	if err != nil {
		return c, err
	}
	if c.Cgroup == "" {
		c.Cgroup = path.Join(parent, "libpod-"+c.ID)
	}
	return c, nil
}

// runTimeout bounds the podman commands that do not run a container.
const runTimeout = 2 * time.Minute

// run runs podman with args and returns its standard output; an error
// carries its standard error.
func run(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, Binary, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("podman %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}
