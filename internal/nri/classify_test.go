package nri

import (
	"strings"
	"testing"

	"github.com/memqos/memqos/internal/config"
)

func testConfig(t *testing.T, nri string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte("root: kubepods\nnri:\n" + nri + `
classes:
  - {name: high, priority: high}
  - {name: low, priority: low}
  - {name: batch, priority: low}
`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestClassify(t *testing.T) {
	cfg := testConfig(t, `  priority_classes: [{name: agent-interactive, class: high}, {name: agent-batch, class: batch}]
  qos: {guaranteed: high, burstable: low}
`)
	withDefault := testConfig(t, "  default: batch\n")
	const burstable, besteffort, guaranteed = "/kubepods/burstable/podu1", "/kubepods/besteffort/podu2", "/kubepods/podu3"
	for _, tc := range []struct {
		name string
		cfg  *config.Config
		pod  Pod
		want Decision
	}{
		{"annotation wins", cfg, Pod{Annotations: map[string]string{"memqos.io/class": "batch", "memqos.io/priority-class": "agent-interactive"}, CgroupParent: guaranteed},
			Decision{Class: "batch", Rule: RuleAnnotation}},
		{"priority class", cfg, Pod{Annotations: map[string]string{"memqos.io/priority-class": "agent-batch"}, CgroupParent: guaranteed},
			Decision{Class: "batch", Rule: RulePriority}},
		{"unmapped priority class falls to QoS", cfg, Pod{Annotations: map[string]string{"memqos.io/priority-class": "system-node-critical"}, CgroupParent: burstable},
			Decision{Class: "low", Rule: RuleQoS}},
		{"guaranteed", cfg, Pod{CgroupParent: guaranteed}, Decision{Class: "high", Rule: RuleQoS}},
		{"systemd burstable", cfg, Pod{CgroupParent: "kubepods-burstable-podu1.slice"}, Decision{Class: "low", Rule: RuleQoS}},
		{"besteffort unmapped", cfg, Pod{CgroupParent: besteffort}, Decision{Rule: RuleNone}},
		{"unknown class falls through", cfg, Pod{Annotations: map[string]string{"memqos.io/class": "gold"}, CgroupParent: guaranteed},
			Decision{Class: "high", Rule: RuleQoS, Unknown: "gold"}},
		{"unknown class, nothing else", cfg, Pod{Annotations: map[string]string{"memqos.io/class": "gold"}, CgroupParent: besteffort},
			Decision{Rule: RuleNone, Unknown: "gold"}},
		{"default", withDefault, Pod{CgroupParent: burstable}, Decision{Class: "batch", Rule: RuleDefault}},
		{"excluded namespace", cfg, Pod{Namespace: "kube-system", Annotations: map[string]string{"memqos.io/class": "high"}, CgroupParent: guaranteed},
			Decision{Rule: RuleExcluded}},
		{"not a kubelet pod", cfg, Pod{CgroupParent: "/machine/podx"}, Decision{Rule: RuleNone}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.cfg, tc.pod); got != tc.want {
				t.Errorf("Classify = %+v; want %+v", got, tc.want)
			}
		})
	}
}

func TestCgroupPath(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "/kubepods/burstable/podu1/abc", want: "/kubepods/burstable/podu1/abc"},
		{in: "/kubepods//podu1/abc/", want: "/kubepods/podu1/abc"},
		{in: "kubepods-burstable-podu1.slice:cri-containerd:abc",
			want: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podu1.slice/cri-containerd-abc.scope"},
		{in: "kubepods-podu3.slice:crio:abc", want: "/kubepods.slice/kubepods-podu3.slice/crio-abc.scope"},
		{in: "system.slice::abc", want: "/system.slice/abc.scope"},
		{in: ":cri-containerd:abc", want: "/cri-containerd-abc.scope"},
		{in: "", err: "no cgroups path"},
		{in: "kubepods/x", err: "neither absolute nor systemd's"},
		{in: "kubepods:cri-containerd:abc", err: `"kubepods" is not a systemd slice name`},
		{in: "a--b.slice:p:abc", err: "is not a systemd slice name"},
	} {
		got, err := CgroupPath(tc.in)
		switch {
		case tc.err != "" && (err == nil || !contains(err.Error(), tc.err)):
			t.Errorf("CgroupPath(%q) = %q, %v; want an error containing %q", tc.in, got, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("CgroupPath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
