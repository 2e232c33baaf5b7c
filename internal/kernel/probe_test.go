package kernel

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for rel, content := range files {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestProbeOnFakeHosts(t *testing.T) {
	root, all := 0, uint64(1)<<capSysAdmin
	nobody, none := 65534, uint64(0)
	proc := writeTree(t, map[string]string{
		"sys/kernel/osrelease": "7.1.5-test\n",
		"pressure/memory":      "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
	})
	sysWithTP := writeTree(t, map[string]string{"kernel/tracing/events/memcg/count_memcg_events/id": "363\n"})
	sysWithout := t.TempDir()
	for _, tc := range []struct {
		name    string
		host    Host
		backend Backend
		abi     ABI
	}{
		// Fake trees are never cgroup v2 mounts, so every case lands on
		// BackendNone; the rest of the report is still filled in.
		{"v7", Host{ProcRoot: proc, SysRoot: sysWithTP, BTF: loadFixture(t, "memcg-v7"), EUID: &root, CapEff: &all}, BackendNone, ABIv7},
		{"debian", Host{ProcRoot: proc, SysRoot: sysWithout, BTF: loadFixture(t, "debian"), EUID: &nobody, CapEff: &none}, BackendNone, ABINone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.host.CgroupRoot = t.TempDir()
			r := tc.host.Probe()
			if r.Kernel != "7.1.5-test" || r.Backend != tc.backend || r.ABI != tc.abi || !r.PSI.OK || !r.BTF.OK {
				t.Errorf("report %+v", r)
			}
			if r.CgroupV2.OK || !strings.Contains(r.CgroupV2.Detail, "not a cgroup v2") {
				t.Errorf("cgroup v2 on a temp dir: %+v", r.CgroupV2)
			}
			if r.Tracepoint.OK != (tc.host.SysRoot == sysWithTP) {
				t.Errorf("tracepoint %+v", r.Tracepoint)
			}
			if r.Privileges.OK != (*tc.host.CapEff != 0) {
				t.Errorf("privileges %+v", r.Privileges)
			}
		})
	}
}

func TestChooseBackend(t *testing.T) {
	ok := Feature{OK: true}
	for _, tc := range []struct {
		name string
		r    Report
		want Backend
	}{
		{"no cgroup2", Report{MemcgOps: ok, StructOpsLnk: ok, Tracepoint: ok, BTF: ok, Privileges: ok, PSI: ok}, BackendNone},
		{"rfc kernel", Report{CgroupV2: ok, MemcgOps: ok, StructOpsLnk: ok, Tracepoint: ok, BTF: ok, Privileges: ok, PSI: ok}, BackendMemcgOps},
		{"rfc without privileges", Report{CgroupV2: ok, MemcgOps: ok, StructOpsLnk: ok, Tracepoint: ok, BTF: ok, PSI: ok}, BackendPSI},
		{"stock 7.1", Report{CgroupV2: ok, Tracepoint: ok, BTF: ok, Privileges: ok, PSI: ok}, BackendTracepoint},
		{"debian 6.1", Report{CgroupV2: ok, BTF: ok, Privileges: ok, PSI: ok}, BackendPSI},
		{"no psi", Report{CgroupV2: ok, BTF: ok, Privileges: ok}, BackendEvents},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, why := chooseBackend(&tc.r); got != tc.want || why == "" {
				t.Errorf("chooseBackend = %q (%s); want %q", got, why, tc.want)
			}
		})
	}
}
