package testutil

import (
	"errors"
	"fmt"
	"sync"

	"github.com/memqos/memqos/internal/kernel"
)

// Kernel features that tests can require. The guest suite promises each
// kernel's set through MEMQOS_TEST_REQUIRE.
const (
	// BPF means kernel BTF and the privileges to load BPF programs.
	BPF Feature = "bpf"
	// Tracepoint means memcg:count_memcg_events exists.
	Tracepoint Feature = "tracepoint"
	// PSI means /proc/pressure/memory exists.
	PSI Feature = "psi"
	// MemcgOps means the kernel has memcg_bpf_ops with a known ABI.
	MemcgOps Feature = "memcg_bpf_ops"
	// MemcgOpsV6 and MemcgOpsV7 mean that ABI precisely.
	MemcgOpsV6 Feature = "memcg_bpf_ops_v6"
	MemcgOpsV7 Feature = "memcg_bpf_ops_v7"
	// NoMemcgOps means the kernel has no memcg_bpf_ops, as mainline: the
	// case where memqos must refuse to attach.
	NoMemcgOps Feature = "no_memcg_bpf_ops"
)

// Probe returns the running host's kernel report, probed once per test
// binary.
var Probe = sync.OnceValue(func() *kernel.Report { return (&kernel.Host{}).Probe() })

func feature(f kernel.Feature) error {
	if f.OK {
		return nil
	}
	return errors.New(f.Detail)
}

func kernelProbes() map[Feature]func() error {
	return map[Feature]func() error{
		BPF: func() error {
			r := Probe()
			return errors.Join(feature(r.BTF), feature(r.Privileges))
		},
		Tracepoint: func() error { return feature(Probe().Tracepoint) },
		PSI:        func() error { return feature(Probe().PSI) },
		MemcgOps:   func() error { return feature(Probe().MemcgOps) },
		MemcgOpsV6: func() error { return wantABI(kernel.ABIv6) },
		MemcgOpsV7: func() error { return wantABI(kernel.ABIv7) },
		NoMemcgOps: func() error {
			if r := Probe(); r.MemcgOps.OK {
				return fmt.Errorf("the kernel has memcg_bpf_ops %s", r.ABI)
			}
			return nil
		},
	}
}

func wantABI(abi kernel.ABI) error {
	r := Probe()
	if r.ABI != abi {
		return fmt.Errorf("memcg_bpf_ops ABI is %q, not %q: %s", r.ABI, abi, r.MemcgOps.Detail)
	}
	return nil
}
