package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/podman"
	"github.com/memqos/memqos/internal/testutil"
	"github.com/memqos/memqos/internal/trace"
)

// recordSpeed replays the 98 s dask trace in about 33 s.
const recordSpeed = "3"

// recordIdle is how long the container idles before and after the
// replay, so that both recorders see all of it.
const recordIdle = 3 * time.Second

// TestRealPodmanRecordAgainstStats records a container replaying a real
// agent trace twice at once: with memqos trace record --podman (10 Hz,
// from its cgroup) and with podman stats as the reference did (about
// 1 Hz), imports both, and checks that they agree on peak and mean within
// the podman-stats resolution (see boundsAt).
func TestRealPodmanRecordAgainstStats(t *testing.T) {
	img := testutil.SandboxImage(t)
	dir := t.TempDir()
	name := fmt.Sprintf("memqos-record-test-%d", os.Getpid())
	idle := fmt.Sprint(recordIdle.Seconds())
	script := "sleep " + idle + " && memqos trace replay builtin:dask__dask-11628 --speed " + recordSpeed +
		" --cgroup self; rc=$?; sleep " + idle + "; exit $rc"
	podmanRun(t, "run", "-d", "--name", name, img, "sh", "-c", script)
	t.Cleanup(func() { exec.Command("podman", "rm", "-f", name).Run() })

	stats := &statsRecorder{podman: "podman", container: name}
	ctx, stop := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- stats.run(ctx) }()
	nativePath := filepath.Join(dir, "native.json")
	r := testutil.RunMemqos(t, "trace", "record", "--podman", name, "-o", nativePath)
	stop()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if r.Code != 0 {
		t.Fatalf("memqos trace record --podman: exit %d: %s", r.Code, r.Stderr)
	}
	if code := strings.TrimSpace(podmanRun(t, "wait", name)); code != "0" {
		t.Errorf("the replay in the container exited %s; logs: %s", code, podmanRun(t, "logs", name))
	}
	statsPath := filepath.Join(dir, "stats.json")
	if err := stats.write(statsPath); err != nil {
		t.Fatal(err)
	}
	start, err := recordingStart(r.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	nat, ps := loadTrace(t, nativePath), loadTrace(t, statsPath)
	offset := stats.samples[0].Epoch*1000 - float64(start.UnixMilli())
	compareRecordings(t, nat, ps, int64(math.Round(offset)))
}

// recordingStart reads when memqos trace record began sampling, the time
// of its first sample, from its log line "time=… level=INFO msg=recording".
func recordingStart(log string) (time.Time, error) {
	m := regexp.MustCompile(`time=(\S+) level=INFO msg=recording `).FindStringSubmatch(log)
	if m == nil {
		return time.Time{}, fmt.Errorf("no recording line in memqos's log %q", log)
	}
	return time.Parse(time.RFC3339Nano, m[1])
}

// compareRecordings checks that the podman-stats trace ps, whose time 0
// is offset ms after nat's, agrees with the native trace nat on peak and
// mean (see boundsAt).
func compareRecordings(t *testing.T, nat, ps *trace.Trace, offset int64) {
	t.Helper()
	checkIdleEnds(t, nat, "native")
	checkIdleEnds(t, ps, "podman stats")
	at := make([]int64, len(ps.Samples))
	for i, s := range ps.Samples {
		at[i] = s.TimeMS + offset
	}
	b := boundsAt(nat, at, statsLag)
	ns, ss := statsOf(t, nat), statsOf(t, ps)
	t.Logf("native: %d samples over %v, peak %.1f MB, mean %.1f MB (source %q)",
		ns.Samples, ns.Duration, ns.Total.Max/1e6, ns.Total.Mean/1e6, nat.Source)
	if anon, ok := anonTrace(nat); ok {
		as := statsOf(t, anon)
		t.Logf("native anon: peak %.1f MB, mean %.1f MB", as.Total.Max/1e6, as.Total.Mean/1e6)
	}
	t.Logf("podman stats: %d samples over %v from %+d ms, largest gap %v, peak %.1f MB, mean %.1f MB",
		ss.Samples, ss.Duration, offset, maxGap(ps), ss.Total.Max/1e6, ss.Total.Mean/1e6)
	t.Logf("podman stats - native: peak %+.1f MB, allowed [%+.1f, %+.1f]; mean %+.1f MB, allowed [%+.1f, %+.1f]",
		(ss.Total.Max-ns.Total.Max)/1e6, (b.peakLow-ns.Total.Max)/1e6, (b.peakHigh-ns.Total.Max)/1e6,
		(ss.Total.Mean-ns.Total.Mean)/1e6, (b.meanLow-ns.Total.Mean)/1e6, (b.meanHigh-ns.Total.Mean)/1e6)
	logLags(t, nat, ps, at)
	if nat.IntervalMS != 100 || ns.Samples < 5*ss.Samples {
		t.Errorf("native interval %d ms, %d samples against %d from podman stats; want 100 ms, many times as many",
			nat.IntervalMS, ns.Samples, ss.Samples)
	}
	if ss.Total.Max < b.peakLow || ss.Total.Max > b.peakHigh {
		t.Errorf("podman-stats peak %.1f MB outside [%.1f, %.1f] MB", ss.Total.Max/1e6, b.peakLow/1e6, b.peakHigh/1e6)
	}
	if ss.Total.Mean < b.meanLow || ss.Total.Mean > b.meanHigh {
		t.Errorf("podman-stats mean %.1f MB outside [%.1f, %.1f] MB", ss.Total.Mean/1e6, b.meanLow/1e6, b.meanHigh/1e6)
	}
}

// logLags logs the podman-stats samples that lie outside their reading
// range for statsLag, with the lag that would take them in.
func logLags(t *testing.T, nat, ps *trace.Trace, at []int64) {
	t.Helper()
	for i, s := range ps.Samples {
		if l := lagOf(nat, at[i], float64(s.Total)); l < 0 || l > statsLag {
			lo, hi := readingRange(nat, at[i], statsLag)
			t.Logf("podman-stats sample %d at %d ms: %.1f MB outside [%.1f, %.1f] MB; lag needed %v",
				i, at[i], float64(s.Total)/1e6, lo/1e6, hi/1e6, l)
		}
	}
}

// anonTrace is tr with each sample's anon memory as its total; false if
// a sample has no anon/file split.
func anonTrace(tr *trace.Trace) (*trace.Trace, bool) {
	out := &trace.Trace{Name: tr.Name + " anon", IntervalMS: tr.IntervalMS}
	for _, s := range tr.Samples {
		if s.Anon == nil {
			return nil, false
		}
		out.Samples = append(out.Samples, trace.Sample{TimeMS: s.TimeMS, Total: *s.Anon})
	}
	return out, true
}

// idleMax is more than the idle container uses and less than the replay's
// 100 MB baseline.
const idleMax = 50e6

// checkIdleEnds checks that tr starts and ends while the container idles:
// it covers the whole replay.
func checkIdleEnds(t *testing.T, tr *trace.Trace, what string) {
	t.Helper()
	first, last := tr.Samples[0].Total, tr.Samples[len(tr.Samples)-1].Total
	if first > idleMax || last > idleMax {
		t.Errorf("%s trace from %d to %d bytes; want both ends below %.0f, recorded while the container idles", what, first, last, idleMax)
	}
}

func statsOf(t *testing.T, tr *trace.Trace) trace.Stats {
	t.Helper()
	st, err := trace.ComputeStats(tr)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func loadTrace(t *testing.T, path string) *trace.Trace {
	t.Helper()
	tr, err := trace.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// podmanRun runs podman with args and returns its stdout.
func podmanRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("podman", args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("podman %s: %v: %s", strings.Join(args, " "), err, stderr)
	}
	return string(out)
}

// TestRealPodmanRecordSignal records a running container until memqos
// gets SIGTERM: memqos writes the trace and exits 0, and the container
// runs on, with the cgroup tree as it was.
func TestRealPodmanRecordSignal(t *testing.T) {
	img := testutil.SandboxImage(t)
	name := fmt.Sprintf("memqos-record-signal-%d", os.Getpid())
	podmanRun(t, "run", "-d", "--name", name, img, "sleep", "600")
	t.Cleanup(func() { exec.Command("podman", "rm", "-f", "-t", "0", name).Run() })
	before := cgroupDirs(t)
	out := filepath.Join(t.TempDir(), "t.json")
	cmd := exec.Command(testutil.Memqos(t), "trace", "record", "--podman", name, "-o", out, "--interval", "50ms")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	log := waitForLine(t, stderr, "msg=recording ")
	time.Sleep(500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stderr)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("memqos trace record --podman: %v: %s%s", err, log, rest)
	}
	tr := loadTrace(t, out)
	t.Logf("%d samples over %v", len(tr.Samples), tr.Duration())
	if len(tr.Samples) < 2 || tr.Name != name || tr.IntervalMS != 50 {
		t.Errorf("%d samples, name %q, interval %d ms; want at least 2, %q, 50", len(tr.Samples), tr.Name, tr.IntervalMS, name)
	}
	if c, err := podman.Inspect(context.Background(), name); err != nil || !c.Running {
		t.Errorf("container after the recording: %+v, %v; want it running", c, err)
	}
	if after := cgroupDirs(t); !slices.Equal(before, after) {
		t.Errorf("cgroup tree changed during the recording:\nbefore %q\nafter  %q", before, after)
	}
}

// waitForLine reads r until a line holding s, and returns what it read.
func waitForLine(t *testing.T, r io.Reader, s string) string {
	t.Helper()
	var read strings.Builder
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		read.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), s) {
			return read.String()
		}
	}
	t.Fatalf("no %q in %q", s, read.String())
	return ""
}

// cgroupDirs lists the groups of the cgroup v2 hierarchy.
func cgroupDirs(t *testing.T) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(cgroup.DefaultRoot, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}
