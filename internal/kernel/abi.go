package kernel

import (
	"errors"
	"fmt"
	"slices"

	"github.com/cilium/ebpf/btf"
)

// ErrNotSupported means the running kernel lacks a feature.
var ErrNotSupported = errors.New("not supported by this kernel")

// ABI is a version of the memcg_bpf_ops RFC's interface.
type ABI string

// The known memcg_bpf_ops ABIs.
const (
	// ABINone means the kernel has no memcg_bpf_ops (mainline).
	ABINone ABI = ""
	// ABIv6 has get_high_delay_ms and attaches with
	// link_create.cgroup.relative_fd.
	ABIv6 ABI = "v6"
	// ABIv7 has memcg_charged and attaches with target_fd plus
	// BPF_F_CGROUP_FD.
	ABIv7 ABI = "v7"
)

// ABIError reports a memcg_bpf_ops in kernel BTF that matches no known ABI.
type ABIError struct {
	OpsMembers  []string // members of struct memcg_bpf_ops
	LinkMembers []string // members of struct bpf_struct_ops_link
}

func (e *ABIError) Error() string {
	return fmt.Sprintf("unknown memcg_bpf_ops ABI (ops members %v, struct_ops link members %v); memqos knows v6 and v7 and will not guess", e.OpsMembers, e.LinkMembers)
}

// MemcgOpsABI tells which memcg_bpf_ops ABI the kernel described by spec
// has. It returns ABINone and an error wrapping ErrNotSupported on kernels
// without memcg_bpf_ops, and an *ABIError when the layout is unknown. The
// struct_ops link must match the ops: v6 links carry cgroup_id, v7 links a
// cgroup pointer.
func MemcgOpsABI(spec *btf.Spec) (ABI, error) {
	ops, err := structMembers(spec, "memcg_bpf_ops")
	if errors.Is(err, btf.ErrNotFound) {
		return ABINone, fmt.Errorf("struct memcg_bpf_ops is not in kernel BTF (the memcg_bpf_ops RFC is not applied): %w", ErrNotSupported)
	}
	if err != nil {
		return ABINone, err
	}
	link, err := structMembers(spec, "bpf_struct_ops_link")
	if err != nil && !errors.Is(err, btf.ErrNotFound) {
		return ABINone, err
	}
	has := slices.Contains[[]string]
	switch {
	case has(ops, "get_high_delay_ms") && !has(ops, "memcg_charged") && has(link, "cgroup_id"):
		return ABIv6, nil
	case has(ops, "memcg_charged") && !has(ops, "get_high_delay_ms") && has(link, "cgroup") && !has(link, "cgroup_id"):
		return ABIv7, nil
	}
	return ABINone, &ABIError{OpsMembers: ops, LinkMembers: link}
}

// PGFaultItem returns the value of PGFAULT in enum vm_event_item: the
// tracepoint's item for page faults, which differs between kernel builds.
func PGFaultItem(spec *btf.Spec) (uint32, error) {
	var e *btf.Enum
	if err := spec.TypeByName("vm_event_item", &e); err != nil {
		return 0, fmt.Errorf("enum vm_event_item: %w", err)
	}
	for _, v := range e.Values {
		if v.Name == "PGFAULT" {
			return uint32(v.Value), nil
		}
	}
	return 0, fmt.Errorf("enum vm_event_item has no PGFAULT: %w", ErrNotSupported)
}

// HasStructOpsLink reports whether the kernel has BPF struct_ops links
// (Linux 6.4+), which memcg_bpf_ops attachment needs.
func HasStructOpsLink(spec *btf.Spec) bool {
	var e *btf.Enum
	if err := spec.TypeByName("bpf_link_type", &e); err != nil {
		return false
	}
	return slices.ContainsFunc(e.Values, func(v btf.EnumValue) bool { return v.Name == "BPF_LINK_TYPE_STRUCT_OPS" })
}

func structMembers(spec *btf.Spec, name string) ([]string, error) {
	var s *btf.Struct
	if err := spec.TypeByName(name, &s); err != nil {
		return nil, fmt.Errorf("struct %s: %w", name, err)
	}
	names := make([]string, len(s.Members))
	for i, m := range s.Members {
		names[i] = m.Name
	}
	return names, nil
}

// HasCountMemcgEvents reports whether the kernel has the
// memcg:count_memcg_events tracepoint, whose record type is
// trace_event_raw_memcg_rstat_events.
func HasCountMemcgEvents(spec *btf.Spec) bool {
	var s *btf.Struct
	return spec.TypeByName("trace_event_raw_memcg_rstat_events", &s) == nil
}
