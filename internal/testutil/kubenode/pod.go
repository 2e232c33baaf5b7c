package kubenode

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// cgroupMount is where the cgroup v2 hierarchy is mounted.
const cgroupMount = "/sys/fs/cgroup"

// Pod describes a pod sandbox, as the kubelet would hand it to the CRI.
type Pod struct {
	Name, Namespace, UID string
	// CgroupParent is the pod's cgroup, relative to the cgroup mount
	// ("/kubepods/burstable/pod<uid>"): the sandbox's and the containers'
	// cgroups are CgroupParent/<id>. "" leaves it to containerd.
	CgroupParent string
	Annotations  map[string]string
	Labels       map[string]string
}

// Mount binds a host path into a container.
type Mount struct {
	Host, Container string
}

// Container describes a container of a pod. It runs the node's image.
type Container struct {
	Name    string
	Command []string
	Mounts  []Mount
	Env     map[string]string
	// MemoryLimit, if positive, is the container's memory.max in bytes.
	MemoryLimit int64
}

// podConfig is crictl's pod sandbox configuration (CRI PodSandboxConfig
// in JSON).
type podConfig struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
		UID       string `json:"uid"`
		Attempt   int    `json:"attempt"`
	} `json:"metadata"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	LogDirectory string            `json:"log_directory"`
	Linux        struct {
		CgroupParent    string `json:"cgroup_parent,omitempty"`
		SecurityContext struct {
			NamespaceOptions struct {
				// Network 2 is NODE: the host's network namespace.
				Network int `json:"network"`
			} `json:"namespace_options"`
		} `json:"security_context"`
	} `json:"linux"`
}

// containerConfig is crictl's container configuration (CRI
// ContainerConfig in JSON).
type containerConfig struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Image struct {
		Image string `json:"image"`
	} `json:"image"`
	Command []string `json:"command"`
	Envs    []envVar `json:"envs,omitempty"`
	Mounts  []mount  `json:"mounts,omitempty"`
	LogPath string   `json:"log_path"`
	Linux   struct {
		Resources struct {
			MemoryLimitInBytes int64 `json:"memory_limit_in_bytes,omitempty"`
		} `json:"resources"`
	} `json:"linux"`
}

type envVar struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type mount struct {
	ContainerPath string `json:"container_path"`
	HostPath      string `json:"host_path"`
}

// hostNetwork is the CRI's NamespaceMode NODE.
const hostNetwork = 2

// podFile writes p's sandbox configuration and returns its path.
func (n *Node) podFile(t testing.TB, p Pod) string {
	t.Helper()
	var c podConfig
	c.Metadata.Name, c.Metadata.Namespace, c.Metadata.UID = p.Name, p.Namespace, p.UID
	c.Annotations, c.Labels = p.Annotations, p.Labels
	c.LogDirectory = filepath.Join(n.dir, "logs", p.UID)
	c.Linux.CgroupParent = p.CgroupParent
	c.Linux.SecurityContext.NamespaceOptions.Network = hostNetwork
	return n.writeJSON(t, "pod-"+p.UID+".json", c)
}

// containerFile writes c's configuration and returns its path.
func (n *Node) containerFile(t testing.TB, podID string, c Container) string {
	t.Helper()
	var cc containerConfig
	cc.Metadata.Name = c.Name
	cc.Image.Image = n.image
	cc.Command = c.Command
	for k, v := range c.Env {
		cc.Envs = append(cc.Envs, envVar{k, v})
	}
	for _, m := range c.Mounts {
		cc.Mounts = append(cc.Mounts, mount{ContainerPath: m.Container, HostPath: m.Host})
	}
	cc.LogPath = c.Name + ".log"
	cc.Linux.Resources.MemoryLimitInBytes = c.MemoryLimit
	return n.writeJSON(t, "container-"+podID[:12]+"-"+c.Name+".json", cc)
}

func (n *Node) writeJSON(t testing.TB, name string, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(n.dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// RunPod creates and starts a pod sandbox in the host's network namespace
// and returns its id. Its sandbox container runs the node's image's
// default command.
func (n *Node) RunPod(t testing.TB, p Pod) string {
	t.Helper()
	if p.Name == "" || p.Namespace == "" || p.UID == "" {
		t.Fatalf("kubenode: a pod needs a name (%q), a namespace (%q) and a uid (%q)", p.Name, p.Namespace, p.UID)
	}
	n.noteParents(p.CgroupParent)
	return n.mustCrictl(t, "runp", n.podFile(t, p))
}

// noteParents records the cgroups of parent, from the top down, that do
// not exist yet: runc will create them, and cleanup removes them.
func (n *Node) noteParents(parent string) {
	if parent == "" {
		return
	}
	parts := strings.Split(strings.Trim(path.Clean(parent), "/"), "/")
	for i := range parts {
		rel := "/" + path.Join(parts[:i+1]...)
		if _, err := os.Stat(filepath.Join(cgroupMount, rel)); os.IsNotExist(err) {
			n.parents = append(n.parents, rel)
		}
	}
}

// CreateContainer creates container c in the pod podID (created from pod)
// and returns its id.
func (n *Node) CreateContainer(t testing.TB, podID string, pod Pod, c Container) string {
	t.Helper()
	if c.Name == "" || len(c.Command) == 0 {
		t.Fatalf("kubenode: a container needs a name (%q) and a command (%q)", c.Name, c.Command)
	}
	return n.mustCrictl(t, "create", podID, n.containerFile(t, podID, c), n.podFile(t, pod))
}

// StartContainer starts a created container.
func (n *Node) StartContainer(t testing.TB, id string) {
	t.Helper()
	n.mustCrictl(t, "start", id)
}

// StopContainer stops a container: SIGTERM, then SIGKILL after a grace
// period of 10 s.
func (n *Node) StopContainer(t testing.TB, id string) {
	t.Helper()
	n.mustCrictl(t, "stop", "--timeout", "10", id)
}

// RemoveContainer removes a stopped container.
func (n *Node) RemoveContainer(t testing.TB, id string) {
	t.Helper()
	n.mustCrictl(t, "rm", id)
}

// StopPod stops a pod's containers and its sandbox.
func (n *Node) StopPod(t testing.TB, podID string) {
	t.Helper()
	n.mustCrictl(t, "stopp", podID)
}

// RemovePod removes a stopped pod and its containers.
func (n *Node) RemovePod(t testing.TB, podID string) {
	t.Helper()
	n.mustCrictl(t, "rmp", podID)
}
