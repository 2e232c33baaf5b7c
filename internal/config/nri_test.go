package config

import (
	"strings"
	"testing"
)

const nriDoc = `
root: kubepods
nri:
  priority_classes:
    - {name: agent-interactive, class: high}
  qos: {guaranteed: high, burstable: low, besteffort: low}
classes:
  - {name: high, priority: high}
  - {name: low, priority: low}
`

func TestParseNRI(t *testing.T) {
	c, err := Parse([]byte(nriDoc))
	if err != nil {
		t.Fatal(err)
	}
	n := c.NRI
	if n == nil || n.Socket != DefaultNRISocket || n.Index != DefaultNRIIndex ||
		n.ClassAnnotation != "memqos.io/class" || n.PriorityAnnotation != "memqos.io/priority-class" {
		t.Fatalf("nri defaults: %+v", n)
	}
	if len(n.ExcludeNamespaces) != 2 || n.ExcludeNamespaces[0] != "kube-system" || n.ExcludeNamespaces[1] != "memqos-system" {
		t.Errorf("nri.exclude_namespaces default: %v", n.ExcludeNamespaces)
	}
	if n.QoS.Burstable != "low" || n.PriorityClasses[0].Class != "high" || n.Default != "" {
		t.Errorf("nri mapping: %+v", n)
	}
	for _, cl := range c.Classes {
		if len(cl.Members) != 0 {
			t.Errorf("class %s got member patterns %v in nri mode", cl.Name, cl.Members)
		}
	}
	checkRoundTrip(t, c)
	plain, err := Parse([]byte(minimal))
	if err != nil || plain.NRI != nil {
		t.Fatalf("a configuration without nri got %+v, %v", plain.NRI, err)
	}
}

func TestParseNRIErrors(t *testing.T) {
	classes := "classes:\n  - {name: high, priority: high}\n  - {name: low, priority: low}\n"
	for _, tc := range []struct{ name, nri, want string }{
		{"unknown class", "nri:\n  qos: {burstable: medium}\n", `nri.qos.burstable: "medium" is not a class of this configuration`},
		{"unknown default", "nri:\n  default: x\n", `nri.default: "x" is not a class`},
		{"priority class unknown", "nri:\n  priority_classes: [{name: p, class: nope}]\n", `nri.priority_classes[0].class: "nope" is not a class`},
		{"priority twice", "nri:\n  priority_classes: [{name: p, class: low}, {name: p, class: high}]\n", `nri.priority_classes[1].name: "p" is mapped twice`},
		{"priority no name", "nri:\n  priority_classes: [{class: low}]\n", "nri.priority_classes[0].name:"},
		{"socket relative", "nri:\n  socket: nri.sock\n", `nri.socket: "nri.sock" is not an absolute path`},
		{"index", "nri:\n  index: \"5\"\n", `nri.index: "5" is not two digits`},
		{"annotation", "nri:\n  class_annotation: \"memqos.io/a b\"\n", `nri.class_annotation: "memqos.io/a b" is not a Kubernetes annotation key`},
		{"unknown field", "nri:\n  qos: {bestefort: low}\n", `nri.qos.bestefort: unknown field (did you mean "besteffort"?)`},
		{"namespace", "nri:\n  exclude_namespaces: [Kube_System]\n", `nri.exclude_namespaces[0]: "Kube_System" is not a Kubernetes namespace name`},
		{"members", "nri: {}\n\nclasses:\n  - {name: high, priority: high, members: [\"a/*\"]}\n", "classes[0].members: with nri, a class's members are the containers of the pods it classifies"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.nri
			if !strings.Contains(doc, "\nclasses:") {
				doc += classes
			}
			_, err := Parse([]byte(doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want an error containing %q", err, tc.want)
			}
		})
	}
}
