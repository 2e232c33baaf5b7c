// Package actuate holds memqos's actuators (govern.Actuator): each
// carries out the intents of the policy's plans that it can. Knobs writes
// cgroup files (memory.high caps, memory.low/min protection, freezing and
// killing), StructOps acts in the kernel through memcg_bpf_ops (charge
// delays, protection, lifting a member's delay), and Reclaim asks the
// kernel to reclaim a LOW member's memory before memqos caps it.
//
// Adding an actuator is one file here, with its policy.Means if it adds a
// means, and one entry in the daemon's table of actuators
// (internal/daemon/plugins.go), which says when it is used.
package actuate

import (
	"strconv"

	"github.com/memqos/memqos/internal/policy"
)

// limit spells a byte count as memory.high takes it.
func limit(v uint64) string {
	if v == policy.Max {
		return "max"
	}
	return strconv.FormatUint(v, 10)
}
