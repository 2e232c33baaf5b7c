// Package kernel reads host facts that decide what memqos can do: the
// cgroup v2 mount and its controllers, PSI, kernel BTF, the memcg_bpf_ops
// ABI, the memcg:count_memcg_events tracepoint, struct_ops links, and the
// caller's privileges.
//
// Every filesystem root is a field of [Host], so tests can point it at a
// temporary tree. A missing feature is a value in the [Report], not an
// error: [Host.Probe] fails only when it cannot look at all.
//
// Errors: [ErrNotSupported] means the running kernel lacks a feature; the
// ABI functions return an *ABIError when BTF shows a memcg_bpf_ops that is
// neither of the known ABIs, since memqos never guesses a layout.
package kernel
