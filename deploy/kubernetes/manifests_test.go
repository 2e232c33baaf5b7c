package kubernetes_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/memqos/memqos/internal/testutil"
)

// manifestDir returns deploy/kubernetes, requiring the source tree.
func manifestDir(t *testing.T) string {
	t.Helper()
	testutil.Require(t, testutil.Source)
	root, err := testutil.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "deploy", "kubernetes")
}

// loadManifests decodes deploy/kubernetes, failing the test on any error.
func loadManifests(t *testing.T) *manifests {
	t.Helper()
	m, err := load(manifestDir(t))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestManifests decodes every manifest strictly and holds them to what
// memqos's NRI plugin needs (see check).
func TestManifests(t *testing.T) {
	m := loadManifests(t)
	for _, want := range []string{"00-namespace.yaml", "10-config.yaml", "20-daemonset.yaml",
		"priority-class-annotation.yaml", "examples/priority-classes.yaml", "examples/pods.yaml"} {
		if len(m.files[want]) == 0 {
			t.Errorf("%s: missing or empty", want)
		}
	}
	for _, p := range check(m) {
		t.Error(p)
	}
}

// TestDecodeStrict shows that decoding rejects what kubectl would reject
// or silently drop.
func TestDecodeStrict(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"unknown field", "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: x}\nspec:\n  template:\n    spec: {hostPid: true}\n",
			`unknown field "spec.template.spec.hostPid"`},
		{"unknown kind", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n", `unknown kind "Service" of apiVersion "v1"`},
		{"old api version", "apiVersion: admissionregistration.k8s.io/v1alpha1\nkind: MutatingAdmissionPolicy\nmetadata: {name: x}\n",
			`unknown kind "MutatingAdmissionPolicy" of apiVersion "admissionregistration.k8s.io/v1alpha1"`},
		{"repeated key", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\ndata: {c: d}\n", `"data" already set`},
		{"wrong type", "apiVersion: v1\nkind: Namespace\nmetadata: {name: [x]}\n", "cannot unmarshal array"},
		{"second document", "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\n# only a comment\n---\napiVersion: v1\nkind: Nope\n",
			"document 2: unknown kind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeAll([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want an error containing %q", err, tc.want)
			}
		})
	}
	objs, err := decodeAll([]byte("# a comment\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\n"))
	if err != nil || len(objs) != 1 {
		t.Fatalf("a namespace between comments: got %d objects, %v", len(objs), err)
	}
}

// TestCheckFails runs check on mutated copies of the manifests: each
// mutation breaks one thing the plugin needs, and check must name it.
func TestCheckFails(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(t *testing.T, m *manifests)
		want   string
	}{
		{"no NRI mount", func(t *testing.T, m *manifests) { dropMount(t, m, "/var/run/nri") },
			"no volume mount at /var/run/nri for the NRI socket's directory"},
		{"socket elsewhere", func(t *testing.T, m *manifests) {
			editConfig(t, m, "socket: /var/run/nri/nri.sock", "socket: /run/nri/nri.sock")
		}, "no volume mount at /run/nri for the NRI socket's directory (nri.socket /run/nri/nri.sock)"},
		{"NRI dir created if missing", func(t *testing.T, m *manifests) {
			volume(t, m, "nri").HostPath.Type = new(corev1.HostPathDirectoryOrCreate)
		}, `the hostPath at /var/run/nri (the NRI socket's directory (nri.socket /var/run/nri/nri.sock)) has type "DirectoryOrCreate"; want one of ["Directory"]`},
		{"no cgroup mount", func(t *testing.T, m *manifests) { dropMount(t, m, cgroupMount) },
			"no volume mount at /sys/fs/cgroup for the host's cgroup v2 mount"},
		{"cgroup read-only", func(t *testing.T, m *manifests) { mount(t, m, cgroupMount).ReadOnly = true },
			"the host's cgroup v2 mount is mounted read-only at /sys/fs/cgroup"},
		{"cgroup from elsewhere", func(t *testing.T, m *manifests) { volume(t, m, "cgroup").HostPath.Path = "/sys/fs/cgroup/unified" },
			"the volume at /sys/fs/cgroup is the host's /sys/fs/cgroup/unified"},
		{"state in emptyDir", func(t *testing.T, m *manifests) {
			v := volume(t, m, "state")
			v.HostPath, v.EmptyDir = nil, &corev1.EmptyDirVolumeSource{}
		}, "the volume at /run/memqos (the state file's directory (state /run/memqos/state.json)) is not a hostPath"},
		{"state elsewhere", func(t *testing.T, m *manifests) {
			editConfig(t, m, "state: /run/memqos/state.json", "state: /var/lib/memqos/state.json")
		}, "no volume mount at /var/lib/memqos for the state file's directory"},
		{"other port", func(t *testing.T, m *manifests) { container(t, m).Ports[0].ContainerPort = 9465 },
			"no TCP containerPort named metrics with port 9464"},
		{"listen port moved", func(t *testing.T, m *manifests) {
			editConfig(t, m, "listen: 0.0.0.0:9464", "listen: 0.0.0.0:9100")
		}, "no TCP containerPort named metrics with port 9100"},
		{"listen on loopback", func(t *testing.T, m *manifests) {
			editConfig(t, m, "listen: 0.0.0.0:9464", "listen: 127.0.0.1:9464")
		}, "listens on 127.0.0.1 only"},
		{"scrape port", func(t *testing.T, m *manifests) {
			daemonSet(t, m).Spec.Template.Annotations["prometheus.io/port"] = "9465"
		},
			`pod annotation prometheus.io/port is "9465"; want "9464"`},
		{"no scrape", func(t *testing.T, m *manifests) {
			delete(daemonSet(t, m).Spec.Template.Annotations, "prometheus.io/scrape")
		},
			`pod annotation prometheus.io/scrape is ""`},
		{"probe path", func(t *testing.T, m *manifests) { container(t, m).LivenessProbe.HTTPGet.Path = "/metrics" },
			"livenessProbe gets /metrics on port metrics; want /healthz on 9464"},
		{"no readiness", func(t *testing.T, m *manifests) { container(t, m).ReadinessProbe = nil },
			"no readinessProbe with httpGet"},
		{"no startup probe", func(t *testing.T, m *manifests) { container(t, m).StartupProbe = nil },
			"no startupProbe with httpGet"},
		{"liveness too slow", func(t *testing.T, m *manifests) { container(t, m).LivenessProbe.FailureThreshold = 12 },
			"livenessProbe restarts a hung daemon after 1m0s of failures (periodSeconds 5 × failureThreshold 12); want at most 30s"},
		{"liveness too quick", func(t *testing.T, m *manifests) { container(t, m).LivenessProbe.FailureThreshold = 1 },
			"livenessProbe restarts after 5s of failures; want at least twice the lease 5s"},
		{"lease longer than liveness", func(t *testing.T, m *manifests) { editConfig(t, m, "lease: 5s", "lease: 10s") },
			"livenessProbe restarts after 15s of failures; want at least twice the lease 10s"},
		{"liveness timeout", func(t *testing.T, m *manifests) { container(t, m).LivenessProbe.TimeoutSeconds = 5 },
			"livenessProbe timeoutSeconds 5 is not below periodSeconds 5"},
		{"short startup", func(t *testing.T, m *manifests) { container(t, m).StartupProbe.FailureThreshold = 6 },
			"startupProbe gives the daemon 30s to start; want at least 2m"},
		{"hostPID", func(t *testing.T, m *manifests) { daemonSet(t, m).Spec.Template.Spec.HostPID = false },
			"hostPID is not true"},
		{"unprivileged", func(t *testing.T, m *manifests) { container(t, m).SecurityContext.Privileged = new(false) },
			"container memqos is not privileged"},
		{"config path", func(t *testing.T, m *manifests) {
			c := container(t, m)
			c.Command[len(c.Command)-1] = "/etc/memqos/memqos.yaml"
		}, "has no file memqos.yaml (--config /etc/memqos/memqos.yaml)"},
		{"config not mounted", func(t *testing.T, m *manifests) { dropMount(t, m, "/etc/memqos") },
			"no volume mount at /etc/memqos, the directory of --config"},
		{"daemon mode", func(t *testing.T, m *manifests) { container(t, m).Command[1] = "daemon" },
			"is not /PATH/memqos nri"},
		{"config invalid", func(t *testing.T, m *manifests) { editConfig(t, m, "guaranteed: high", "guaranteed: medium") },
			`config.yaml does not parse: nri.qos.guaranteed: "medium" is not a class`},
		{"config without nri", func(t *testing.T, m *manifests) {
			cm := one[*corev1.ConfigMap](m, configMapName)
			cm.Data["config.yaml"] = "classes:\n  - {name: high, priority: high}\n"
		}, "config.yaml has no nri section"},
		{"namespace not privileged", func(t *testing.T, m *manifests) {
			delete(one[*corev1.Namespace](m, namespace).Labels, "pod-security.kubernetes.io/enforce")
		}, `namespace memqos-system enforces Pod Security ""`},
		{"namespace applied late", func(t *testing.T, m *manifests) {
			m.files["30-namespace.yaml"] = m.files["00-namespace.yaml"]
			delete(m.files, "00-namespace.yaml")
		}, "10-config.yaml, with objects in memqos-system, sorts before 30-namespace.yaml"},
		{"no tolerations", func(t *testing.T, m *manifests) { daemonSet(t, m).Spec.Template.Spec.Tolerations = nil },
			"no toleration of every taint"},
		{"short grace", func(t *testing.T, m *manifests) {
			daemonSet(t, m).Spec.Template.Spec.TerminationGracePeriodSeconds = new(int64(5))
		}, "terminationGracePeriodSeconds is under 30"},
		{"not critical", func(t *testing.T, m *manifests) { daemonSet(t, m).Spec.Template.Spec.PriorityClassName = "" },
			`priorityClassName is "", not system-node-critical`},
		{"no memory limit", func(t *testing.T, m *manifests) { delete(container(t, m).Resources.Limits, corev1.ResourceMemory) },
			"container memqos has no limits.memory"},
		{"image with libc", func(t *testing.T, m *manifests) {
			m.containerfile = strings.Replace(m.containerfile, "FROM scratch", "FROM docker.io/library/debian:13", 1)
		}, "not FROM scratch"},
		{"binary elsewhere", func(t *testing.T, m *manifests) { container(t, m).Command[0] = "/memqos" },
			`copies the binary to ["/usr/local/bin/memqos"], not to the command's /memqos`},
		{"image not built", func(t *testing.T, m *manifests) { container(t, m).Image = "ghcr.io/memqos/memqos:latest" },
			"does not say how to build the DaemonSet's image ghcr.io/memqos/memqos:latest"},
		{"policy annotation", func(t *testing.T, m *manifests) {
			editConfig(t, m, "  index: \"50\"\n", "  index: \"50\"\n  priority_annotation: example.com/priority\n")
		}, "does not copy object.spec.priorityClassName into annotation example.com/priority"},
		{"example class unknown", func(t *testing.T, m *manifests) {
			for _, p := range all[*corev1.Pod](m) {
				if p.Annotations["memqos.io/class"] != "" {
					p.Annotations["memqos.io/class"] = "medium"
				}
			}
		}, "annotation memqos.io/class=medium is not a class of the config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := loadManifests(t)
			tc.mutate(t, m)
			got := check(m)
			for _, p := range got {
				if strings.Contains(p, tc.want) {
					return
				}
			}
			t.Errorf("check found %q; want a problem containing %q", got, tc.want)
		})
	}
}

func daemonSet(t *testing.T, m *manifests) *appsv1.DaemonSet {
	t.Helper()
	ds := one[*appsv1.DaemonSet](m, daemonSetName)
	if ds == nil {
		t.Fatalf("no DaemonSet %s", daemonSetName)
	}
	return ds
}

func container(t *testing.T, m *manifests) *corev1.Container {
	t.Helper()
	return &daemonSet(t, m).Spec.Template.Spec.Containers[0]
}

// mount returns the memqos container's mount at dir.
func mount(t *testing.T, m *manifests, dir string) *corev1.VolumeMount {
	t.Helper()
	vm, _ := mountAt(daemonSet(t, m), container(t, m), dir)
	if vm == nil {
		t.Fatalf("no mount at %s to mutate", dir)
	}
	return vm
}

func dropMount(t *testing.T, m *manifests, dir string) {
	t.Helper()
	c := container(t, m)
	n := len(c.VolumeMounts)
	c.VolumeMounts = slices.DeleteFunc(c.VolumeMounts, func(vm corev1.VolumeMount) bool { return vm.MountPath == dir })
	if len(c.VolumeMounts) == n {
		t.Fatalf("no mount at %s to drop", dir)
	}
}

func volume(t *testing.T, m *manifests, name string) *corev1.Volume {
	t.Helper()
	vs := daemonSet(t, m).Spec.Template.Spec.Volumes
	for i := range vs {
		if vs[i].Name == name {
			return &vs[i]
		}
	}
	t.Fatalf("no volume %s to mutate", name)
	return nil
}

// editConfig replaces old with new in the ConfigMap's config.yaml; old
// must be there.
func editConfig(t *testing.T, m *manifests, old, new string) {
	t.Helper()
	cm := one[*corev1.ConfigMap](m, configMapName)
	if cm == nil || !strings.Contains(cm.Data["config.yaml"], old) {
		t.Fatalf("config.yaml has no %q to replace", old)
	}
	cm.Data["config.yaml"] = strings.Replace(cm.Data["config.yaml"], old, new, 1)
}
