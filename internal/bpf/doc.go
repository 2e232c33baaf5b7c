// Package bpf loads memqos's BPF programs and attaches them.
//
// The [Detector] counts the page faults of HIGH cgroups from the
// memcg:count_memcg_events tracepoint and marks HIGH as under pressure when
// a sliding window's count crosses a threshold. On kernels with the
// memcg_bpf_ops RFC, [Detector.Attach] loads a struct_ops map per cgroup:
// HIGH cgroups get below_low/below_min, which protect them from reclaim
// while HIGH is under pressure; LOW cgroups get the charge-time delay hook
// (get_high_delay_ms in RFC v6, memcg_charged in v7). The ABI is read from
// kernel BTF; on kernels without memcg_bpf_ops Attach refuses, because
// mainline ignores the cgroup flags and would make the ops global.
//
// The C sources are in c/; bpf2go output is committed. Loading and
// attaching needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN), and kernel
// BTF. Neither a Detector nor its Attachments are safe for concurrent
// use: callers serialise their calls.
//
// Errors: ErrNotSupported (from internal/kernel) means the kernel lacks a
// feature; an *AttachError carries the errno of a refused attachment, such
// as EBUSY when a cgroup already has ops that may not be overridden.
package bpf
