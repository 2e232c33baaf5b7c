// Package bpf loads memqos's BPF programs and attaches them.
//
// Everything is per class: a ClassID in 1..MaxClasses-1. The [Detector]
// counts the page faults of each HIGH class's member cgroups and all their
// descendants, from the memcg:count_memcg_events tracepoint (tp_btf, which
// walks the faulting memcg's ancestors to the nearest registered member),
// in a sliding window per class. When a class's window crosses its
// threshold (and, with RequireArmed, while the caller has armed the class
// because it sees memory contention), the class is under pressure for its
// hold time, and the transition is sent on [Detector.Triggers]. This part
// needs only the tracepoint, so it works on stock kernels too.
//
// On kernels with the memcg_bpf_ops RFC, [Detector.Attach] loads a
// struct_ops map per cgroup, with the cgroup's class id as a constant:
// cgroups of a HIGH class get below_low/below_min, which answer true while
// that class is under pressure; cgroups of a LOW class get the charge-time
// delay hook (get_high_delay_ms in RFC v6, memcg_charged in v7), which
// returns the class's delay while any HIGH class it yields to is under
// pressure. The ABI is read from kernel BTF; on kernels without
// memcg_bpf_ops Attach refuses, because mainline ignores the cgroup flags
// and would make the ops global.
//
// The C sources are in c/; bpf2go output is committed. Loading and
// attaching needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN), and kernel
// BTF; StructOpsLinks needs CAP_SYS_ADMIN. A Detector's methods and an
// Attachment's methods are safe for concurrent use, Close included (a
// Detector's methods return an error after Close); Close of either is
// idempotent. Attachments should be closed before their Detector.
//
// Errors: ErrNotSupported (from internal/kernel) means the kernel lacks a
// feature; an *AttachError carries the errno of a refused attachment, such
// as EBUSY when a cgroup already has ops that may not be overridden.
package bpf
