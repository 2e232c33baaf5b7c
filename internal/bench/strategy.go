package bench

import (
	"fmt"
	"slices"
	"strings"

	"github.com/memqos/memqos/internal/kernel"
)

// Strategy is one way of sharing memory between the sessions of a bench.
type Strategy string

// The strategies, in the order reports list them.
const (
	// None: no isolation; the sessions share the parent's limit.
	None Strategy = "none"
	// Static: memory.max = total/N on each session.
	Static Strategy = "static"
	// HighOnly: LOW sessions get memory.high=400M and nothing else: the
	// reference experiment's static part alone, the control it lacked.
	HighOnly Strategy = "high-only"
	// Reference: the reference experiment's policy, run by the daemon on
	// the kernel backend (config preset "reference").
	Reference Strategy = "reference"
	// StructOps: memqos's default policy on the kernel backend.
	StructOps Strategy = "structops"
	// CgroupFS: memqos's default policy on the stock backend.
	CgroupFS Strategy = "cgroupfs"
)

// Strategies lists every strategy.
var Strategies = []Strategy{None, Static, HighOnly, Reference, StructOps, CgroupFS}

// referenceLowHigh is the reference experiment's memory.high on LOW
// sessions: "400M" as cgroup files read it, 400 MiB.
const referenceLowHigh = 400 << 20

// NeedsRFC reports whether s needs a kernel with memcg_bpf_ops.
func (s Strategy) NeedsRFC() bool { return s == Reference || s == StructOps }

// daemonPolicy is the policy and backend lines of each strategy's daemon
// configuration; strategies that run no daemon have none.
var daemonPolicy = map[Strategy]string{
	Reference: "policy: reference\nbackend: structops\n",
	StructOps: "backend: structops\n",
	CgroupFS:  "backend: cgroupfs\n",
}

// RunsDaemon reports whether s runs the memqos daemon.
func (s Strategy) RunsDaemon() bool { return daemonPolicy[s] != "" }

// daemonConfig returns the daemon configuration of s, for a root and a
// state file, or "" if s runs no daemon. The configuration is what a user
// of that policy would write: the daemon runs it as it runs theirs.
func (s Strategy) daemonConfig(root, state string) string {
	head, ok := daemonPolicy[s]
	if !ok {
		return ""
	}
	return fmt.Sprintf("root: %s\nstate: %s\n%sclasses:\n  - {name: high, priority: high}\n  - {name: low, priority: low}\n", root, state, head)
}

// ParseStrategies reads a comma-separated list of strategies, or "all":
// every strategy this kernel can run (those that need memcg_bpf_ops are
// left out without it). A strategy named explicitly that the kernel cannot
// run is an error that says why.
func ParseStrategies(list string, probe *kernel.Report) ([]Strategy, error) {
	rfc := probe != nil && probe.MemcgOps.OK
	if strings.TrimSpace(list) == "all" {
		var out []Strategy
		for _, s := range Strategies {
			if rfc || !s.NeedsRFC() {
				out = append(out, s)
			}
		}
		return out, nil
	}
	var out []Strategy
	for _, name := range strings.Split(list, ",") {
		s := Strategy(strings.TrimSpace(name))
		if !slices.Contains(Strategies, s) {
			return nil, fmt.Errorf("unknown strategy %q: want all or a list of %s", name, strategyNames())
		}
		if slices.Contains(out, s) {
			return nil, fmt.Errorf("strategy %q given twice", s)
		}
		if s.NeedsRFC() && !rfc {
			why := "no probe"
			if probe != nil {
				why = probe.MemcgOps.Detail
			}
			return nil, fmt.Errorf("strategy %q needs a kernel with memcg_bpf_ops (%s); use --vm with an RFC kernel, or leave it out", s, why)
		}
		out = append(out, s)
	}
	return out, nil
}

func strategyNames() string {
	names := make([]string, len(Strategies))
	for i, s := range Strategies {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}
