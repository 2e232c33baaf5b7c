package kernel_test

import (
	"testing"

	"github.com/memqos/memqos/internal/kernel"
	"github.com/memqos/memqos/internal/testutil"
	"golang.org/x/sys/unix"
)

// TestProbeRunningKernel checks the probe against what the environment
// promises about the running kernel; in the guest suite each kernel
// promises its own set, so the probe must report each correctly.
func TestProbeRunningKernel(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2)
	r := (&kernel.Host{}).Probe()
	t.Logf("probe: %+v", r)
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil || r.Kernel != unix.ByteSliceToString(u.Release[:]) {
		t.Errorf("kernel %q; uname says %q", r.Kernel, u.Release)
	}
	if !r.CgroupV2.OK || !r.Privileges.OK {
		t.Errorf("cgroup v2 %+v, privileges %+v; want both as root on cgroup v2", r.CgroupV2, r.Privileges)
	}
	check := func(f testutil.Feature, got bool, detail string) {
		t.Helper()
		if testutil.Promised(f) && !got {
			t.Errorf("%s is promised but the probe says no: %s", f, detail)
		}
	}
	check(testutil.PSI, r.PSI.OK, r.PSI.Detail)
	check(testutil.BPF, r.BTF.OK, r.BTF.Detail)
	check(testutil.Tracepoint, r.Tracepoint.OK, r.Tracepoint.Detail)
	check(testutil.MemcgOpsV6, r.ABI == kernel.ABIv6, r.MemcgOps.Detail)
	check(testutil.MemcgOpsV7, r.ABI == kernel.ABIv7, r.MemcgOps.Detail)
	check(testutil.NoMemcgOps, !r.MemcgOps.OK && r.ABI == kernel.ABINone, r.MemcgOps.Detail)
	switch {
	case testutil.Promised(testutil.MemcgOps):
		if r.Backend != kernel.BackendMemcgOps {
			t.Errorf("backend %q on a memcg_bpf_ops kernel", r.Backend)
		}
	case testutil.Promised(testutil.Tracepoint):
		if r.Backend != kernel.BackendTracepoint {
			t.Errorf("backend %q on a kernel with the tracepoint but no ops", r.Backend)
		}
	case testutil.Promised(testutil.PSI):
		if r.Backend != kernel.BackendPSI {
			t.Errorf("backend %q on a kernel with PSI only", r.Backend)
		}
	}
	if r.PGFaultItem == nil {
		t.Error("no PGFAULT item in kernel BTF")
	}
}
