package cli

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

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
	t.Logf("podman stats: %d samples over %v from %+d ms, largest gap %v, peak %.1f MB, mean %.1f MB",
		ss.Samples, ss.Duration, offset, maxGap(ps), ss.Total.Max/1e6, ss.Total.Mean/1e6)
	t.Logf("podman stats - native: peak %+.1f MB, allowed [%+.1f, %+.1f]; mean %+.1f MB, allowed [%+.1f, %+.1f]",
		(ss.Total.Max-ns.Total.Max)/1e6, (b.peakLow-ns.Total.Max)/1e6, (b.peakHigh-ns.Total.Max)/1e6,
		(ss.Total.Mean-ns.Total.Mean)/1e6, (b.meanLow-ns.Total.Mean)/1e6, (b.meanHigh-ns.Total.Mean)/1e6)
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
