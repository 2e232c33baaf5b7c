// Package nri is memqos's node agent for Kubernetes: an NRI (Node Resource
// Interface) plugin of containerd or CRI-O that classifies each pod into a
// memqos class and assigns its containers' cgroups to the daemon as
// members of that class. The daemon governs them as any other members:
// same policy, metrics, journal and restore.
//
// Classification is pure (Classify, QoSOf, CgroupPath) and tested on
// plain values; Plugin wires it to the runtime's events through the NRI
// stub, and reconnects when the runtime restarts.
package nri

import (
	"slices"
	"strings"

	"github.com/memqos/memqos/internal/config"
)

// Pod is what classification reads of a pod sandbox.
type Pod struct {
	Namespace, Name string
	Annotations     map[string]string
	// CgroupParent is the pod's cgroup, as the kubelet gave it to the
	// runtime: /kubepods/burstable/pod<uid> (cgroupfs driver) or
	// kubepods-burstable-pod<uid>.slice (systemd driver).
	CgroupParent string
}

// Rule says which rule gave a pod its class.
type Rule string

// Rules, in the order they are tried.
const (
	RuleAnnotation Rule = "annotation"
	RulePriority   Rule = "priority-class"
	RuleQoS        Rule = "qos"
	RuleDefault    Rule = "default"
	RuleNone       Rule = "none"     // not governed
	RuleExcluded   Rule = "excluded" // in an excluded namespace
)

// Decision is a pod's class and why.
type Decision struct {
	Class string // "" when not governed
	Rule  Rule
	// Unknown is a class the pod's annotation named that the
	// configuration does not have; the pod got the next rule's class.
	Unknown string
}

// Kubernetes QoS classes, as NRI's QoS mapping names them.
const (
	QoSGuaranteed = "guaranteed"
	QoSBurstable  = "burstable"
	QoSBestEffort = "besteffort"
)

// Classify returns the class cfg gives pod: none if its namespace is
// excluded; else its class annotation if that names a class; else its
// priority class's mapping; else its QoS class's; else the default; else
// none. cfg.NRI must be set.
func Classify(cfg *config.Config, pod Pod) Decision {
	n := cfg.NRI
	if slices.Contains(n.ExcludeNamespaces, pod.Namespace) {
		return Decision{Rule: RuleExcluded}
	}
	var d Decision
	if v, ok := pod.Annotations[n.ClassAnnotation]; ok {
		if cfg.Class(v) != nil {
			return Decision{Class: v, Rule: RuleAnnotation}
		}
		d.Unknown = v
	}
	if pc, ok := pod.Annotations[n.PriorityAnnotation]; ok {
		for _, m := range n.PriorityClasses {
			if m.Name == pc {
				d.Class, d.Rule = m.Class, RulePriority
				return d
			}
		}
	}
	var byQoS string
	switch QoSOf(pod.CgroupParent) {
	case QoSGuaranteed:
		byQoS = n.QoS.Guaranteed
	case QoSBurstable:
		byQoS = n.QoS.Burstable
	case QoSBestEffort:
		byQoS = n.QoS.BestEffort
	}
	switch {
	case byQoS != "":
		d.Class, d.Rule = byQoS, RuleQoS
	case n.Default != "":
		d.Class, d.Rule = n.Default, RuleDefault
	default:
		d.Rule = RuleNone
	}
	return d
}

// QoSOf returns the Kubernetes QoS class of a pod from its cgroup parent,
// as the kubelet lays pods out: besteffort and burstable pods under
// groups of those names, guaranteed pods directly under kubepods. It
// returns "" for a parent outside kubepods (not a kubelet pod).
func QoSOf(cgroupParent string) string {
	p := strings.ToLower(cgroupParent)
	if !strings.Contains(p, "kubepods") {
		return ""
	}
	switch {
	case strings.Contains(p, "besteffort"):
		return QoSBestEffort
	case strings.Contains(p, "burstable"):
		return QoSBurstable
	default:
		return QoSGuaranteed
	}
}
