package kubenode

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m, nil) }

// pod1 is the pod of the tests: in a burstable QoS class cgroup parent,
// as the kubelet's cgroupfs driver names it, with an annotation.
var pod1 = Pod{
	Name: "p1", Namespace: "default", UID: "u1",
	CgroupParent: "/kubepods/burstable/podu1",
	Annotations:  map[string]string{"memqos.io/priority": "high"},
	Labels:       map[string]string{"app": "test"},
}

// TestRealKubeNode runs a pod with a long-running container, checks its
// cgroup is where the kubelet's cgroupfs driver would look, restarts
// containerd under it, and checks the pod's cgroups go with the pod.
func TestRealKubeNode(t *testing.T) {
	n := Start(t, Options{})
	if _, err := os.Stat(n.NRISocket()); err != nil {
		t.Errorf("containerd's NRI socket: %v", err)
	}
	podID := n.RunPod(t, pod1)
	id := n.CreateContainer(t, podID, pod1, Container{Name: "sleeper", Command: []string{"sleep", "600"}})
	n.StartContainer(t, id)

	cg := n.CgroupPath(t, id)
	if want := pod1.CgroupParent + "/" + id; cg != want {
		t.Fatalf("container cgroup %s, want %s", cg, want)
	}
	podCg := n.PodCgroupPath(t, podID)
	if want := pod1.CgroupParent + "/" + podID; podCg != want {
		t.Errorf("sandbox cgroup %s, want %s", podCg, want)
	}
	s := n.Inspect(t, id)
	if s.State != Running || s.Pid <= 0 {
		t.Fatalf("container state %+v, want running with a pid", s)
	}
	assertProcIn(t, cg, s.Pid)
	shims, err := shimsOf(n.Endpoint())
	if err != nil || len(shims) == 0 {
		t.Fatalf("no shim found for %s (%v): cleanup's check for leftover shims would see none", n.Endpoint(), err)
	}

	start := time.Now()
	n.Restart(t)
	t.Logf("containerd restarted in %v", time.Since(start).Round(time.Millisecond))
	if after := n.Inspect(t, id); after.State != Running || after.Pid != s.Pid {
		t.Fatalf("after the restart the container is %+v, want running with pid %d", after, s.Pid)
	}
	assertProcIn(t, cg, s.Pid)

	n.StopPod(t, podID)
	if st := n.Inspect(t, id); st.State != Exited {
		t.Errorf("after stopping the pod the container is %+v, want exited", st)
	}
	n.RemovePod(t, podID)
	for _, p := range []string{cg, podCg} {
		if _, err := os.Stat(filepath.Join(cgroupMount, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup %s after the pod's removal: %v, want it gone", p, err)
		}
	}
}

// TestRealKubeOOMKilled runs a container that outgrows its memory limit
// and checks how the CRI reports its end.
func TestRealKubeOOMKilled(t *testing.T) {
	n := Start(t, Options{})
	podID := n.RunPod(t, pod1)
	id := n.CreateContainer(t, podID, pod1, Container{
		Name:        "hog",
		Command:     []string{"tail", "/dev/zero"}, // buffers one endless line
		MemoryLimit: 32 << 20,
	})
	n.StartContainer(t, id)
	cg := n.CgroupPath(t, id)
	if b, err := os.ReadFile(filepath.Join(cgroupMount, cg, "memory.max")); err != nil {
		t.Error(err)
	} else if got := strings.TrimSpace(string(b)); got != strconv.Itoa(32<<20) {
		t.Errorf("memory.max of %s is %s, want %d", cg, got, 32<<20)
	}
	s := waitExited(t, n, id, 2*time.Minute)
	if s.Reason != "OOMKilled" || s.ExitCode != 137 {
		t.Errorf("the hog ended %+v, want reason OOMKilled and exit code 137", s)
	}
	n.RemoveContainer(t, id)
}

// waitExited polls a container until it has exited.
func waitExited(t *testing.T, n *Node, id string, timeout time.Duration) ContainerState {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := n.Inspect(t, id)
		if s.State == Exited {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s still %s after %v", id, s.State, timeout)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// assertProcIn checks that pid is in the cgroup rel.
func assertProcIn(t *testing.T, rel string, pid int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cgroupMount, rel, "cgroup.procs"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(string(b)) {
		if f == strconv.Itoa(pid) {
			return
		}
	}
	t.Errorf("pid %d not in %s/cgroup.procs (%q)", pid, rel, b)
}
