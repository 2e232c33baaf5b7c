// Package podman is how memqos works with podman containers: it builds a
// small sandbox image from local files (no registry), and finds a running
// container's cgroup. It drives the podman command line, so it needs
// podman on PATH and the privileges podman needs; errors carry podman's own
// message.
//
// With podman's cgroupfs manager, `podman run --cgroup-parent /P` puts the
// container's processes in /P/libpod-<id>; the cgroup path is what
// [Inspect] reports. docs/containers.md describes both managers.
package podman

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"strings"
	"time"
)

// DefaultImage is the name the sandbox image gets unless told otherwise.
const DefaultImage = "localhost/memqos-sandbox"

// Binary is the podman command; tests may point it elsewhere.
var Binary = "podman"

// ImageFiles are the static binaries that go into a sandbox image.
type ImageFiles struct {
	// Memqos is a statically linked memqos, installed as /bin/memqos.
	Memqos string
	// Busybox, if set, is a statically linked busybox, installed as
	// /bin/busybox with a link for each of its applets, so that the image
	// has a shell and the usual tools.
	Busybox string
}

// ErrNoPodman means podman is not installed.
var ErrNoPodman = errors.New("podman is not installed (apt install podman; or try it in a guest: memqos vm run --rootfs debian)")

// lookPodman fails with ErrNoPodman unless Binary is on PATH.
func lookPodman() error {
	if _, err := exec.LookPath(Binary); err != nil {
		return fmt.Errorf("%w: %w", ErrNoPodman, err)
	}
	return nil
}

// blockingCmd is the image's default command when it has busybox: it
// waits until it is killed, so that the image can serve as a Kubernetes
// pod's sandbox (pause) image, whose container runs no command of its own.
const blockingCmd = `["/bin/sleep", "infinity"]`

// BuildImage builds the sandbox image name from files with `podman
// import`: a root file system holding only those binaries, /tmp, and the
// passwd and group entries of root. Nothing is pulled. With busybox, the
// image's default command (blockingCmd) sleeps until it is killed; without
// it, the image has no default command.
func BuildImage(ctx context.Context, name string, files ImageFiles) error {
	if err := lookPodman(); err != nil {
		return err
	}
	layer, err := imageLayer(ctx, files)
	if err != nil {
		return err
	}
	args := []string{"import", "--quiet", "--change", "ENV PATH=/bin", "--change", "WORKDIR /"}
	if files.Busybox != "" {
		args = append(args, "--change", "CMD "+blockingCmd)
	}
	args = append(args, "--message", "memqos sandbox image, built locally by memqos podman image", "-", name)
	cmd := exec.CommandContext(ctx, Binary, args...)
	cmd.Stdin = bytes.NewReader(layer)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("podman import %s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// imageLayer returns the image's root file system as a tar archive.
func imageLayer(ctx context.Context, files ImageFiles) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	dir := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: now})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: now}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	err := errors.Join(
		dir("bin", 0o755), dir("etc", 0o755), dir("tmp", 0o1777), dir("out", 0o755),
		file("etc/passwd", 0o644, []byte("root:x:0:0:root:/:/bin/sh\n")),
		file("etc/group", 0o644, []byte("root:x:0:\n")),
	)
	if err != nil {
		return nil, err
	}
	if files.Memqos == "" {
		return nil, errors.New("sandbox image: no memqos binary given")
	}
	bins := [][2]string{{"memqos", files.Memqos}}
	if files.Busybox != "" {
		bins = append(bins, [2]string{"busybox", files.Busybox})
	}
	for _, b := range bins {
		data, err := os.ReadFile(b[1])
		if err != nil {
			return nil, fmt.Errorf("sandbox image: %w", err)
		}
		if err := file("bin/"+b[0], 0o755, data); err != nil {
			return nil, err
		}
	}
	if files.Busybox != "" {
		applets, err := exec.CommandContext(ctx, files.Busybox, "--list").Output()
		if err != nil {
			return nil, fmt.Errorf("sandbox image: %s --list: %w", files.Busybox, err)
		}
		for _, a := range strings.Fields(string(applets)) {
			if a == "busybox" || a == "memqos" || strings.Contains(a, "/") {
				continue
			}
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: path.Join("bin", a), Linkname: "busybox", Mode: 0o777, ModTime: now}); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Container is what memqos needs to know of a container.
type Container struct {
	ID   string
	Name string
	// Running is false once the container has stopped.
	Running bool
	// Pid is its first process on the host, 0 when it is not running.
	Pid int
	// Cgroup is its cgroup, relative to the cgroup v2 mount
	// ("/agents/low/libpod-<id>"); empty when it is not running.
	Cgroup string
}

// ErrNoContainer means podman knows no container by that name or id.
var ErrNoContainer = errors.New("no such container")

// Inspect returns the container named, or with the id (or id prefix),
// nameOrID.
func Inspect(ctx context.Context, nameOrID string) (Container, error) {
	if err := lookPodman(); err != nil {
		return Container{}, err
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, Binary, "container", "inspect", "--format", "json", nameOrID)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "no such container") || strings.TrimSpace(string(out)) == "[]" {
			return Container{}, fmt.Errorf("podman container %q: %w", nameOrID, ErrNoContainer)
		}
		return Container{}, fmt.Errorf("podman container inspect %s: %w: %s", nameOrID, err, msg)
	}
	return parseInspect(out, nameOrID)
}

// parseInspect reads podman container inspect's JSON.
func parseInspect(out []byte, nameOrID string) (Container, error) {
	var list []struct {
		ID    string `json:"Id"`
		Name  string `json:"Name"`
		State struct {
			Running    bool   `json:"Running"`
			Pid        int    `json:"Pid"`
			CgroupPath string `json:"CgroupPath"`
		} `json:"State"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return Container{}, fmt.Errorf("podman container inspect %s: unreadable output: %w", nameOrID, err)
	}
	if len(list) != 1 {
		return Container{}, fmt.Errorf("podman container inspect %s: %d containers, want 1", nameOrID, len(list))
	}
	c := list[0]
	return Container{ID: c.ID, Name: c.Name, Running: c.State.Running, Pid: c.State.Pid, Cgroup: c.State.CgroupPath}, nil
}
