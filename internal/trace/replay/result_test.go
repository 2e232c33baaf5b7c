package replay

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/testutil"
	"github.com/memqos/memqos/internal/trace"
)

// fakeWorker answers targets as the worker does, with fixed latencies,
// which it spends on clk. After answers answers its output ends and its
// input breaks, as when the worker is killed.
func fakeWorker(clk *fakeClock, latencies []time.Duration, answers int) *workerProc {
	r, w := io.Pipe()
	p := &workerProc{stdin: w, replies: make(chan received, 1)}
	go func() {
		defer close(p.replies)
		defer r.CloseWithError(syscall.EPIPE)
		p.replies <- received{reply: Reply{Kind: 'R', PageSize: 4096}}
		br := bufio.NewReader(r)
		for i := range answers {
			target, err := ReadTarget(br)
			if err != nil {
				return
			}
			clk.now = clk.now.Add(latencies[i])
			p.replies <- received{reply: Reply{Kind: 'A', Footprint: Pages(target, 4096) * 4096, Latency: latencies[i]}}
		}
	}()
	return p
}

// fakeResult builds a Result as Run does, with drive and finish, from a
// five-sample trace, a fake worker that answers the first answers samples
// with fixed latencies on a fake clock, a fake cgroup and a real process
// exit.
func fakeResult(t *testing.T, events string, ps *os.ProcessState, answers int) *Result {
	tr := &trace.Trace{Name: "tiny", Source: "test", IntervalMS: 1000, Samples: []trace.Sample{
		{TimeMS: 0, Total: 10_000_000}, {TimeMS: 1000, Total: 185_500_000}, {TimeMS: 2000, Total: 185_500_000},
		{TimeMS: 3000, Total: 120_000_000}, {TimeMS: 4000, Total: 320_900_000}}}
	clk := &fakeClock{now: time.Unix(1e9, 0)}
	o := Options{Trace: tr, Speed: 50, Base: 100_000_000, NoTHP: true, clock: clk}
	targets, err := Targets(tr, o.Base)
	if err != nil {
		t.Fatal(err)
	}
	root := testutil.FakeCgroupTree(t, map[string]string{
		"memqos-replay-1/memory.events": events,
		"memqos-replay-1/memory.peak":   "424000000\n",
	})
	g := (&cgroup.FS{Root: root}).Group("memqos-replay-1")
	res := o.newResult(g, targets)
	latencies := []time.Duration{41500 * time.Microsecond, 52500 * time.Microsecond, 3 * time.Microsecond, 800 * time.Microsecond, 3 * time.Millisecond}
	runErr := o.drive(context.Background(), fakeWorker(clk, latencies, answers), targets, res, func() {})
	if (runErr != nil) != (answers < len(targets)) {
		t.Errorf("drive = %v after %d answers", runErr, answers)
	}
	o.finish(res, g, cgroup.MemoryEvents{Max: 2}, ps, runErr, false)
	return res
}

func TestResultGolden(t *testing.T) {
	tests := []struct {
		name    string
		events  string
		script  string
		answers int
		status  Status
	}{
		{"completed", "low 0\nhigh 0\nmax 2\noom 0\noom_kill 0\noom_group_kill 0\n", "exit 0", 5, Completed},
		{"oom_killed", "low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\noom_group_kill 0\n", "kill -KILL $$", 4, OOMKilled},
		// A SIGKILL without an OOM kill is a failure, not an OOM kill.
		{"killed", "low 0\nhigh 0\nmax 2\noom 0\noom_kill 0\noom_group_kill 0\n", "kill -KILL $$", 4, WorkerFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := fakeResult(t, tt.events, testutil.Exited(t, tt.script), tt.answers)
			if res.Status != tt.status || res.OOMKilled != (tt.status == OOMKilled) {
				t.Errorf("status %s, oom_killed %v; want %s", res.Status, res.OOMKilled, tt.status)
			}
			got, err := json.MarshalIndent(res, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			testutil.Golden(t, filepath.Join("testdata", "result_"+tt.name+".json"), append(got, '\n'))
		})
	}
}

func TestStatus(t *testing.T) {
	kill := Exit{Code: -1, Signal: "SIGKILL", SignalNumber: 9}
	term := Exit{Code: -1, Signal: "SIGTERM", SignalNumber: 15}
	oom := cgroup.MemoryEvents{OOMKill: 1}
	tests := []struct {
		name                string
		exit                Exit
		delta               cgroup.MemoryEvents
		interrupted, failed bool
		want                Status
	}{
		{"clean", Exit{}, cgroup.MemoryEvents{}, false, false, Completed},
		{"oom kill", kill, oom, false, true, OOMKilled},
		{"oom kill while interrupted", kill, oom, true, true, OOMKilled},
		{"sigkill, no oom", kill, cgroup.MemoryEvents{}, false, true, WorkerFailed},
		{"oom counted, other signal", term, oom, false, true, WorkerFailed},
		{"interrupted", kill, cgroup.MemoryEvents{}, true, true, Interrupted},
		{"exit 1", Exit{Code: 1}, cgroup.MemoryEvents{}, false, true, WorkerFailed},
		{"exit 1 after all samples", Exit{Code: 1}, cgroup.MemoryEvents{}, false, false, WorkerFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := status(tt.exit, tt.delta, tt.interrupted, tt.failed); got != tt.want {
				t.Errorf("status = %s; want %s", got, tt.want)
			}
		})
	}
}
