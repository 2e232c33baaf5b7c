package record

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/testutil"
	"github.com/memqos/memqos/internal/trace"
)

// The tests in this file need root and a real cgroup v2; they run for real
// in the guest suite.

func recordHelper(t *testing.T, o Options, helper string, args ...string) *Result {
	t.Helper()
	testutil.Require(t, testutil.Root, testutil.CgroupV2)
	o.FS = &cgroup.FS{Root: cgroup.DefaultRoot}
	o.Command = testutil.HelperCommand(t, helper, args...)
	res, err := Record(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if o.FS.Group(res.Group).Exists() {
		t.Errorf("record cgroup %s left behind", res.Group)
	}
	return res
}

// TestRealRecordSteps is the acceptance (c): a command that
// allocates 200 MB in 20 MB steps is recorded with a peak within 10 % of
// 200 MB.
func TestRealRecordSteps(t *testing.T) {
	const total = 200_000_000
	res := recordHelper(t, Options{Name: "steps"}, "steps", strconv.Itoa(total), "20000000", "100ms", "1s")
	tr := res.Trace
	st, err := trace.ComputeStats(tr)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d samples over %v, peak %.1f MB, exit %d", len(tr.Samples), st.Duration, st.Total.Max/1e6, res.ExitCode)
	if res.ExitCode != 0 {
		t.Errorf("exit %d", res.ExitCode)
	}
	if st.Total.Max < 0.9*total || st.Total.Max > 1.1*total {
		t.Errorf("peak %.0f bytes; want within 10 %% of %d", st.Total.Max, total)
	}
	if tr.IntervalMS != 100 || !strings.HasPrefix(tr.Source, "memqos record: ") || len(tr.Samples) < 10 {
		t.Errorf("interval %d, source %q, %d samples", tr.IntervalMS, tr.Source, len(tr.Samples))
	}
	checkSamples(t, tr)
	var buf bytes.Buffer
	if err := trace.Encode(&buf, tr); err != nil {
		t.Fatal(err)
	}
	if _, err := trace.Decode(&buf); err != nil {
		t.Fatal(err)
	}
}

// checkSamples checks that every sample has the optional fields and that
// the anon split accounts for the allocation.
func checkSamples(t *testing.T, tr *trace.Trace) {
	t.Helper()
	var maxAnon int64
	for i, s := range tr.Samples {
		if s.Anon == nil || s.File == nil || s.MemoryEvents == nil {
			t.Fatalf("sample %d lacks anon, file or memory.events", i)
		}
		maxAnon = max(maxAnon, *s.Anon)
	}
	if maxAnon < 180_000_000 {
		t.Errorf("largest anon %d; want about 200 MB", maxAnon)
	}
	if testutil.Promised(testutil.PSI) && tr.Samples[0].Pressure == nil {
		t.Error("no memory.pressure on a kernel with PSI")
	}
}

func TestRealRecordExitStatus(t *testing.T) {
	tests := []struct {
		name    string
		signals []os.Signal
		code    int
		sig     string
	}{
		{"forwarded SIGTERM", []os.Signal{syscall.SIGTERM}, 143, "SIGTERM"},
		// The terminal sends SIGINT to the command itself: forwarding it
		// would deliver it twice. SIGTERM then ends the command.
		{"SIGINT not forwarded", []os.Signal{syscall.SIGINT, syscall.SIGTERM}, 143, "SIGTERM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sigs := make(chan os.Signal, len(tt.signals))
			go func() {
				for _, s := range tt.signals {
					time.Sleep(300 * time.Millisecond)
					sigs <- s
				}
			}()
			res := recordHelper(t, Options{Signals: sigs, Interval: 20 * time.Millisecond}, "sleep")
			if res.ExitCode != tt.code || res.Signal != tt.sig || len(res.Trace.Samples) < 2 {
				t.Errorf("exit %d, signal %q, %d samples; want %d, %q", res.ExitCode, res.Signal, len(res.Trace.Samples), tt.code, tt.sig)
			}
		})
	}
}

// TestRealRecordKillsLeftovers records a command that leaves a child
// behind: removing the group kills it.
func TestRealRecordKillsLeftovers(t *testing.T) {
	res := recordHelper(t, Options{}, "orphan")
	if res.ExitCode != 0 {
		t.Errorf("exit %d", res.ExitCode)
	}
}

// TestRealRecordCanceled cancels the context: the command is killed and
// the samples so far are kept.
func TestRealRecordCanceled(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	o := Options{FS: &cgroup.FS{Root: cgroup.DefaultRoot}, Command: testutil.HelperCommand(t, "sleep")}
	res, err := Record(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 137 || len(res.Trace.Samples) < 2 {
		t.Errorf("exit %d with %d samples; want 137 (SIGKILL)", res.ExitCode, len(res.Trace.Samples))
	}
}

// TestRealRecordGroupPlacement checks that the command runs in the record
// group from its start.
func TestRealRecordGroupPlacement(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2)
	fsys := &cgroup.FS{Root: cgroup.DefaultRoot}
	cmd := exec.Command("cat", "/proc/self/cgroup")
	var out bytes.Buffer
	cmd.Stdout = &out
	res, err := Record(context.Background(), Options{FS: fsys, Command: cmd})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if !slices.Contains(lines, "0::"+res.Group) {
		t.Errorf("/proc/self/cgroup = %q; want 0::%s", out.String(), res.Group)
	}
}

// TestRealRecordUnprivileged records as user 65534: creating the group
// fails with a permission error that says what is needed.
func TestRealRecordUnprivileged(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2)
	cmd := testutil.HelperCommand(t, "record")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	err := cmd.Run()
	t.Logf("unprivileged: %v: %s", err, out.String())
	if cmd.ProcessState.ExitCode() != 13 || !strings.Contains(out.String(), "needs root") {
		t.Errorf("exit %d, %q; want a permission error naming the fix", cmd.ProcessState.ExitCode(), out.String())
	}
}
