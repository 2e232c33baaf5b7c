package selftest_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/selftest"
	"github.com/memqos/memqos/internal/testutil"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	testutil.Main(m, testutil.Helpers{"workload": selftest.WorkloadMain})
}

func options(t *testing.T, dir string) selftest.Options {
	return selftest.Options{
		FS:       &cgroup.FS{Root: cgroup.DefaultRoot},
		Dir:      dir,
		Limit:    selftest.DefaultLimitMiB << 20,
		FileSize: 64 << 20,
		Command: func(args []string) *exec.Cmd {
			cmd := testutil.HelperCommand(t, "workload", args...)
			cmd.Stdout = nil
			return cmd
		},
	}
}

// staleGroup creates a group named like one left by a selftest run whose
// process is gone, and returns a check that Run removed it.
func staleGroup(t *testing.T) func() {
	t.Helper()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	fsys := &cgroup.FS{Root: cgroup.DefaultRoot}
	g, err := fsys.Create(fmt.Sprintf("memqos-selftest-crashed-%d", dead.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.SetLimit(cgroup.MemoryMax, 1<<20); err != nil {
		t.Fatal(err)
	}
	return func() {
		if g.Exists() {
			g.Remove(context.Background(), nil)
			t.Errorf("Run left the stale group %s of a dead run", g.Path())
		}
	}
}

func run(t *testing.T, o selftest.Options) []selftest.Result {
	t.Helper()
	defer staleGroup(t)()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	results, err := selftest.Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(selftest.Names) {
		t.Fatalf("%d results; want %d", len(results), len(selftest.Names))
	}
	for i, r := range results {
		if r.Name != selftest.Names[i] {
			t.Errorf("result %d is %q; want %q", i, r.Name, selftest.Names[i])
		}
		t.Logf("%+v", r)
	}
	return results
}

func TestSelftestPassesWithMemcgOps(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2, testutil.MemcgOps, testutil.Tracepoint)
	for _, r := range run(t, options(t, testutil.ScratchDir(t))) {
		if r.Status != selftest.Pass {
			t.Errorf("%s: %s: %s", r.Name, r.Status, r.Reason)
		}
		if r.Reads > 0 && (r.Delays == 0 || r.LowStallSeconds <= 0 || r.OOMKills != 0) {
			t.Errorf("%s: %d delays, %.2f s LOW stall, %d OOM kills; want delays that stall LOW, and no OOM kill", r.Name, r.Delays, r.LowStallSeconds, r.OOMKills)
		}
	}
}

func TestSelftestUnsupportedWithoutMemcgOps(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2, testutil.NoMemcgOps)
	for _, r := range run(t, options(t, testutil.ScratchDir(t))) {
		if r.Status != selftest.Unsupported || r.Reason == "" {
			t.Errorf("%s: %s (%q); want UNSUPPORTED with a reason", r.Name, r.Status, r.Reason)
		}
	}
}

func TestSelftestRefusesTmpfs(t *testing.T) {
	var st unix.Statfs_t
	if err := unix.Statfs("/dev/shm", &st); err != nil || st.Type != unix.TMPFS_MAGIC {
		t.Skip("no tmpfs at /dev/shm")
	}
	_, err := selftest.Run(context.Background(), options(t, "/dev/shm"))
	if err == nil || !strings.Contains(err.Error(), "tmpfs") {
		t.Fatalf("got %v; want a refusal naming tmpfs", err)
	}
	if _, err := selftest.Run(context.Background(), options(t, "/no/such/dir")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing dir: got %v; want fs.ErrNotExist", err)
	}
}

func TestWorkloadRejectsBadArguments(t *testing.T) {
	for _, args := range [][]string{nil, {"f", "x", "1"}, {"f", "-1", "1"}, {"f", "10", "-2"}} {
		if code := selftest.WorkloadMain(args); code != 2 {
			t.Errorf("WorkloadMain(%q) = %d; want 2", args, code)
		}
	}
}
