package config

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
)

// NRI defaults.
const (
	DefaultNRISocket          = "/var/run/nri/nri.sock"
	DefaultNRIIndex           = "50"
	DefaultClassAnnotation    = "memqos.io/class"
	DefaultPriorityAnnotation = "memqos.io/priority-class"
)

// NRI makes the daemon a node agent of a container runtime (containerd or
// CRI-O, through the Node Resource Interface): its members are the
// containers of the pods it classifies, wherever their cgroups are under
// the root, instead of the cgroups that match class patterns.
//
// A pod's class is, in order: the class its ClassAnnotation names; the
// class PriorityClasses maps its priority class to (read from
// PriorityAnnotation, which an admission policy copies from the pod's
// spec.priorityClassName, since the runtime is not told it); the class QoS
// maps its Kubernetes QoS class to (from its cgroup parent); Default. A
// pod none of these classify is not governed.
type NRI struct {
	// Socket is the runtime's NRI socket.
	Socket string `yaml:"socket,omitempty"`
	// Index is the plugin's two-digit index: the order among NRI plugins.
	Index string `yaml:"index,omitempty"`
	// ClassAnnotation names the pod annotation that gives a memqos class.
	ClassAnnotation string `yaml:"class_annotation,omitempty"`
	// PriorityAnnotation names the pod annotation that holds the pod's
	// Kubernetes priority class name.
	PriorityAnnotation string `yaml:"priority_annotation,omitempty"`
	// PriorityClasses maps Kubernetes priority class names to classes.
	PriorityClasses []PriorityClass `yaml:"priority_classes,omitempty"`
	// QoS maps Kubernetes QoS classes to classes.
	QoS QoSClasses `yaml:"qos,omitempty"`
	// Default is the class of a pod nothing else classifies; "" leaves
	// such pods alone.
	Default string `yaml:"default,omitempty"`
	// ExcludeNamespaces are namespaces whose pods are never governed,
	// whatever their annotations: by default the cluster's own
	// (kube-system) and memqos's (memqos-system). An empty list excludes
	// none.
	ExcludeNamespaces []string `yaml:"exclude_namespaces"`
}

// DefaultExcludeNamespaces are the namespaces NRI mode leaves alone
// unless configured otherwise.
var DefaultExcludeNamespaces = []string{"kube-system", "memqos-system"}

// PriorityClass maps one Kubernetes priority class to a memqos class.
type PriorityClass struct {
	Name  string `yaml:"name,omitempty"`
	Class string `yaml:"class,omitempty"`
}

// QoSClasses maps Kubernetes QoS classes to memqos classes; "" leaves pods
// of that QoS class to Default.
type QoSClasses struct {
	Guaranteed string `yaml:"guaranteed,omitempty"`
	Burstable  string `yaml:"burstable,omitempty"`
	BestEffort string `yaml:"besteffort,omitempty"`
}

var (
	nriIndex      = regexp.MustCompile(`^[0-9]{2}$`)
	namespaceName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	annotationKey = regexp.MustCompile(`^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
)

func (n *NRI) applyDefaults() {
	setDefault(&n.Socket, DefaultNRISocket)
	setDefault(&n.Index, DefaultNRIIndex)
	setDefault(&n.ClassAnnotation, DefaultClassAnnotation)
	setDefault(&n.PriorityAnnotation, DefaultPriorityAnnotation)
	if n.ExcludeNamespaces == nil {
		n.ExcludeNamespaces = slices.Clone(DefaultExcludeNamespaces)
	}
}

func (n *NRI) validate(c *Config) error {
	if !filepath.IsAbs(n.Socket) {
		return &FieldError{Path: "nri.socket", Msg: fmt.Sprintf("%q is not an absolute path", n.Socket)}
	}
	if !nriIndex.MatchString(n.Index) {
		return &FieldError{Path: "nri.index", Msg: fmt.Sprintf("%q is not two digits (00 to 99)", n.Index)}
	}
	for _, k := range [][2]string{{"nri.class_annotation", n.ClassAnnotation}, {"nri.priority_annotation", n.PriorityAnnotation}} {
		if !annotationKey.MatchString(k[1]) {
			return &FieldError{Path: k[0], Msg: fmt.Sprintf("%q is not a Kubernetes annotation key", k[1])}
		}
	}
	for i, ns := range n.ExcludeNamespaces {
		if !namespaceName.MatchString(ns) {
			return &FieldError{Path: fmt.Sprintf("nri.exclude_namespaces[%d]", i), Msg: fmt.Sprintf("%q is not a Kubernetes namespace name", ns)}
		}
	}
	refs := []struct{ path, class string }{
		{"nri.qos.guaranteed", n.QoS.Guaranteed}, {"nri.qos.burstable", n.QoS.Burstable},
		{"nri.qos.besteffort", n.QoS.BestEffort}, {"nri.default", n.Default},
	}
	seen := map[string]bool{}
	for i, p := range n.PriorityClasses {
		f := fmt.Sprintf("nri.priority_classes[%d]", i)
		if p.Name == "" {
			return &FieldError{Path: f + ".name", Msg: errEmpty.Error()}
		}
		if seen[p.Name] {
			return &FieldError{Path: f + ".name", Msg: fmt.Sprintf("%q is mapped twice", p.Name)}
		}
		seen[p.Name] = true
		if p.Class == "" {
			return &FieldError{Path: f + ".class", Msg: errEmpty.Error()}
		}
		refs = append(refs, struct{ path, class string }{f + ".class", p.Class})
	}
	for _, r := range refs {
		if r.class != "" && c.Class(r.class) == nil {
			return &FieldError{Path: r.path, Msg: fmt.Sprintf("%q is not a class of this configuration", r.class)}
		}
	}
	for i, cl := range c.Classes {
		if len(cl.Members) > 0 {
			return &FieldError{Path: fmt.Sprintf("classes[%d].members", i), Msg: "with nri, a class's members are the containers of the pods it classifies; leave members out"}
		}
	}
	return nil
}
