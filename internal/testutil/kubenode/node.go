// Package kubenode runs a Kubernetes node's container runtime for tests:
// containerd with its CRI and NRI plugins and runc, driven through crictl
// as the kubelet would drive it, without a kubelet or a network. It is test
// support: only _test files import it, and its functions fail the test on
// any error, with crictl's or containerd's own message.
//
// [Start] needs the testutil.Kube feature (the binaries of
// scripts/node-tools on PATH, podman, root, cgroup v2). Pods share the
// host's network namespace, so no CNI plugin is needed, and every
// container runs the sandbox image of testutil.SandboxImage, imported into
// containerd and pinned as the pods' sandbox (pause) image, since nothing
// can be pulled. docs/kubernetes-node-test.md describes the node.
package kubenode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/testutil"
)

// Options configure a node.
type Options struct {
	// NRISocket is where containerd's NRI plugin listens for NRI plugins;
	// "" means nri.sock in the node's directory. A unix socket path must
	// stay below 108 bytes.
	NRISocket string
}

// Node is a running containerd, started by Start.
type Node struct {
	dir, config, log string
	endpoint         string // containerd's socket (CRI and ctr)
	nriSocket        string
	image            string // the pods' image, pinned as the sandbox image
	proc             *process
	// parents are the cgroups (relative to the cgroup mount) that RunPod's
	// cgroup parents made, deepest last, for cleanup.
	parents []string
}

// Timeouts of the node's commands: generous, as guests run under TCG.
const (
	readyTimeout = 2 * time.Minute
	stopTimeout  = time.Minute
	crictlTime   = 2 * time.Minute
)

// Start writes a containerd configuration in a fresh directory, starts
// containerd with it, waits until its CRI service answers, and imports the
// sandbox image. Cleanup removes every pod, stops containerd, checks that
// no shim outlived it and removes the cgroup parents RunPod created.
func Start(t testing.TB, o Options) *Node {
	t.Helper()
	testutil.Require(t, testutil.Kube)
	image := testutil.SandboxImage(t)
	dir := t.TempDir()
	n := &Node{
		dir:       dir,
		config:    filepath.Join(dir, "config.toml"),
		log:       filepath.Join(dir, "containerd.log"),
		endpoint:  filepath.Join(dir, "containerd.sock"),
		nriSocket: o.NRISocket,
		image:     image + ":latest",
	}
	if n.nriSocket == "" {
		n.nriSocket = filepath.Join(dir, "nri.sock")
	}
	if err := os.WriteFile(n.config, []byte(n.configText()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.cleanup(t) })
	n.start(t)
	n.importImage(t, image)
	return n
}

// Endpoint returns containerd's socket, which serves the CRI (for crictl's
// --runtime-endpoint, as unix://PATH) and ctr.
func (n *Node) Endpoint() string { return n.endpoint }

// NRISocket returns the socket where containerd accepts NRI plugins.
func (n *Node) NRISocket() string { return n.nriSocket }

// Image returns the image every container runs, also the sandbox image.
func (n *Node) Image() string { return n.image }

// configText returns containerd's configuration (version 3): state and
// root in the node's directory, the CRI with runc on cgroupfs (no systemd
// in the guest), the sandbox image pinned to the local one, and NRI on.
func (n *Node) configText() string {
	return fmt.Sprintf(`version = 3
root = %[1]q
state = %[2]q

[grpc]
  address = %[3]q

[ttrpc]
  address = %[4]q

[plugins."io.containerd.cri.v1.images".pinned_images]
  sandbox = %[5]q

[plugins."io.containerd.cri.v1.runtime".containerd]
  default_runtime_name = "runc"

[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
  SystemdCgroup = false

[plugins."io.containerd.nri.v1.nri"]
  disable = false
  socket_path = %[6]q
`, filepath.Join(n.dir, "root"), filepath.Join(n.dir, "state"), n.endpoint, n.endpoint+".ttrpc", n.image, n.nriSocket)
}

// Restart stops containerd with SIGTERM, waits for it to exit, and starts
// it again with the same configuration. Running containers survive: their
// shims keep them while containerd is away.
func (n *Node) Restart(t testing.TB) {
	t.Helper()
	if err := n.proc.stop(stopTimeout); err != nil {
		t.Fatalf("restart: %v%s", err, n.logTail())
	}
	n.start(t)
}

// start starts containerd and waits until crictl info answers.
func (n *Node) start(t testing.TB) {
	t.Helper()
	p, err := startProcess(n.config, n.log)
	if err != nil {
		t.Fatal(err)
	}
	n.proc = p
	deadline := time.Now().Add(readyTimeout)
	for {
		_, err := n.crictl("info")
		if err == nil {
			return
		}
		if exited := p.exited(); exited != nil {
			t.Fatalf("containerd exited before it was ready: %v%s", exited, n.logTail())
		}
		if time.Now().After(deadline) {
			t.Fatalf("containerd not ready after %v: %v%s", readyTimeout, err, n.logTail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// importImage saves image with podman as an OCI archive and imports it
// into containerd's k8s.io namespace, where the CRI finds it.
func (n *Node) importImage(t testing.TB, image string) {
	t.Helper()
	archive := filepath.Join(n.dir, "sandbox.tar")
	if out, err := exec.Command("podman", "save", "--format", "oci-archive", "-o", archive, image).CombinedOutput(); err != nil {
		t.Fatalf("podman save %s: %v: %s", image, err, bytes.TrimSpace(out))
	}
	if out, err := exec.Command("ctr", "--address", n.endpoint, "-n", "k8s.io", "images", "import", "--local", archive).CombinedOutput(); err != nil {
		t.Fatalf("ctr images import %s: %v: %s%s", archive, err, bytes.TrimSpace(out), n.logTail())
	}
	os.Remove(archive)
}

// crictl runs crictl against the node and returns its standard output; an
// error carries its standard error.
func (n *Node) crictl(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), crictlTime+10*time.Second)
	defer cancel()
	ep := "unix://" + n.endpoint
	full := append([]string{"--runtime-endpoint", ep, "--image-endpoint", ep, "--timeout", crictlTime.String()}, args...)
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "crictl", full...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("crictl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// mustCrictl is crictl that fails t on error, with containerd's log.
func (n *Node) mustCrictl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := n.crictl(args...)
	if err != nil {
		t.Fatalf("%v%s", err, n.logTail())
	}
	return strings.TrimSpace(string(out))
}

// logTailLines is how much of containerd's log a failure shows.
const logTailLines = 40

// logTail returns the end of containerd's log, for failure messages.
func (n *Node) logTail() string {
	b, err := os.ReadFile(n.log)
	if err != nil {
		return fmt.Sprintf("\n(no containerd log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	return "\ncontainerd log (" + n.log + "), last lines:\n" + strings.Join(lines, "\n")
}

// errShimsLeft means shims of the node's containers outlived containerd
// and the removal of every pod.
var errShimsLeft = errors.New("containerd shims still running")

// cleanup removes every pod, stops containerd, and checks that nothing of
// the node is left: no shim, no cgroup parent that RunPod created.
func (n *Node) cleanup(t testing.TB) {
	if n.proc != nil && n.proc.exited() == nil {
		n.removeAllPods(t)
		if err := n.proc.stop(stopTimeout); err != nil {
			t.Errorf("stop containerd: %v", err)
		}
	}
	if err := n.killShims(); err != nil {
		t.Error(err)
	}
	n.removeParents(t)
	if t.Failed() {
		t.Log(n.logTail())
	}
}

// removeAllPods stops and removes every pod with its containers, and
// checks that no container is left.
func (n *Node) removeAllPods(t testing.TB) {
	out, err := n.crictl("pods", "-q")
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	for _, id := range strings.Fields(string(out)) {
		if _, err := n.crictl("rmp", "--force", id); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
	if out, err := n.crictl("ps", "-a", "-q"); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("cleanup: containers left after removing every pod: %q %v", out, err)
	}
}

// shimExitTimeout is how long shims get to exit after their pod's removal.
const shimExitTimeout = 10 * time.Second

// killShims waits for the shims whose command line names the node's
// socket to exit, then kills and reports those left: none should outlive
// the removal of every pod.
func (n *Node) killShims() error {
	var pids []int
	var err error
	for deadline := time.Now().Add(shimExitTimeout); ; time.Sleep(200 * time.Millisecond) {
		pids, err = shimsOf(n.endpoint)
		if err != nil || len(pids) == 0 {
			return err
		}
		if time.Now().After(deadline) {
			break
		}
	}
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	return fmt.Errorf("%w after cleanup: pids %v (killed)", errShimsLeft, pids)
}

// removeParents removes the cgroup parents that RunPod created, deepest
// first; each must be empty by now.
func (n *Node) removeParents(t testing.TB) {
	for i := len(n.parents) - 1; i >= 0; i-- {
		p := filepath.Join(cgroupMount, n.parents[i])
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			t.Errorf("cleanup: remove the pods' cgroup parent: %v", err)
		}
	}
}
