package replay

import (
	"reflect"
	"testing"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/testutil"
)

func kernelFiles(someUS, fullUS, pgscan, refault string) map[string]string {
	files := map[string]string{
		"g/memory.stat": "anon 100\nfile 0\npgscan " + pgscan + "\npgsteal 7\nworkingset_refault_anon " + refault + "\npgmajfault 0\n",
	}
	if someUS != "" {
		files["g/memory.pressure"] = "some avg10=0.00 avg60=0.00 avg300=0.00 total=" + someUS +
			"\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=" + fullUS + "\n"
	}
	return files
}

func TestKernelSince(t *testing.T) {
	before := snapshot(t, kernelFiles("1000", "400", "10", "5"))
	after := snapshot(t, kernelFiles("251000", "100400", "300", "5"))
	got := after.since(before)
	want := &Kernel{
		Stall: &Stall{SomeUS: 250000, FullUS: 100000},
		// pswpin and the other counters the kernel does not have are left
		// out, not reported as 0.
		Stat: map[string]uint64{"pgscan": 290, "pgsteal": 0, "workingset_refault_anon": 0, "pgmajfault": 0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("since = %+v %v, want %+v %v", got, got.Stall, want, want.Stall)
	}
}

// TestKernelWithoutPSI: a kernel without PSI has no memory.pressure; the
// stall is unknown (nil), not zero, and the counters still count.
func TestKernelWithoutPSI(t *testing.T) {
	before := snapshot(t, kernelFiles("", "", "10", "1"))
	after := snapshot(t, kernelFiles("", "", "12", "4"))
	got := after.since(before)
	if got.Stall != nil || got.Stat["pgscan"] != 2 || got.Stat["workingset_refault_anon"] != 3 {
		t.Errorf("since = %+v", got)
	}
}

// TestKernelCounterWentBack: a counter that went back (the group was made
// again under its name) gives 0, not a wrapped-around huge number.
func TestKernelCounterWentBack(t *testing.T) {
	before := snapshot(t, kernelFiles("5000", "0", "900", "0"))
	after := snapshot(t, kernelFiles("10", "0", "3", "0"))
	got := after.since(before)
	if got.Stall.SomeUS != 0 || got.Stat["pgscan"] != 0 {
		t.Errorf("since = %+v %+v", got, got.Stall)
	}
}

func TestKernelSnapshotBadFile(t *testing.T) {
	root := testutil.FakeCgroupTree(t, map[string]string{"g/memory.pressure": "some total=x\n", "g/memory.stat": "pgscan 1\n"})
	if _, err := snapshotKernel((&cgroup.FS{Root: root}).Group("g")); err == nil {
		t.Error("a malformed memory.pressure was accepted")
	}
}

func snapshot(t *testing.T, files map[string]string) kernelSnapshot {
	t.Helper()
	k, err := snapshotKernel((&cgroup.FS{Root: testutil.FakeCgroupTree(t, files)}).Group("g"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}
