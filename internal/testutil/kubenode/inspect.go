package kubenode

import (
	"encoding/json"
	"testing"
)

// Container states, as the CRI reports them.
const (
	Created = "CONTAINER_CREATED"
	Running = "CONTAINER_RUNNING"
	Exited  = "CONTAINER_EXITED"
	Unknown = "CONTAINER_UNKNOWN"
)

// ContainerState is what crictl inspect reports of a container.
type ContainerState struct {
	// State is one of Created, Running, Exited and Unknown.
	State    string
	ExitCode int
	// Reason says why an exited container ended, as containerd reports
	// it: "OOMKilled" when the kernel's OOM killer killed it.
	Reason string
	// Pid is its first process, 0 when it is not running.
	Pid int
}

// inspection is the part of `crictl inspect -o json` (and inspectp) that
// the node reads.
type inspection struct {
	Status struct {
		State    string `json:"state"`
		ExitCode int    `json:"exitCode"`
		Reason   string `json:"reason"`
	} `json:"status"`
	Info struct {
		Pid         int `json:"pid"`
		RuntimeSpec struct {
			Linux struct {
				CgroupsPath string `json:"cgroupsPath"`
			} `json:"linux"`
		} `json:"runtimeSpec"`
	} `json:"info"`
}

func (n *Node) inspect(t testing.TB, verb, id string) inspection {
	t.Helper()
	out := n.mustCrictl(t, verb, "-o", "json", id)
	var in inspection
	if err := json.Unmarshal([]byte(out), &in); err != nil {
		t.Fatalf("crictl %s %s: %v", verb, id, err)
	}
	return in
}

// Inspect returns the state of a container.
func (n *Node) Inspect(t testing.TB, id string) ContainerState {
	t.Helper()
	in := n.inspect(t, "inspect", id)
	s := ContainerState{State: in.Status.State, ExitCode: in.Status.ExitCode, Reason: in.Status.Reason}
	if s.State == Running {
		s.Pid = in.Info.Pid
	}
	return s
}

// CgroupPath returns a container's cgroup relative to the cgroup mount
// (the cgroupsPath of its OCI runtime spec): with the cgroupfs manager,
// the pod's cgroup parent joined with the container's id.
func (n *Node) CgroupPath(t testing.TB, id string) string {
	t.Helper()
	return n.cgroupsPath(t, "inspect", id)
}

// PodCgroupPath returns the cgroup of a pod's sandbox container, relative
// to the cgroup mount: the pod's cgroup parent joined with the pod's id.
func (n *Node) PodCgroupPath(t testing.TB, podID string) string {
	t.Helper()
	return n.cgroupsPath(t, "inspectp", podID)
}

// cgroupsPath returns the runtime spec's linux.cgroupsPath that crictl
// verb (inspect or inspectp) shows for id.
func (n *Node) cgroupsPath(t testing.TB, verb, id string) string {
	t.Helper()
	p := n.inspect(t, verb, id).Info.RuntimeSpec.Linux.CgroupsPath
	if p == "" {
		t.Fatalf("crictl %s %s: no linux.cgroupsPath in the runtime spec", verb, id)
	}
	return p
}
