package daemon

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/bpf"
	"github.com/memqos/memqos/internal/journal"
	"github.com/memqos/memqos/internal/memcgbpf"
	"github.com/memqos/memqos/internal/status"
	"github.com/memqos/memqos/internal/testutil"
)

// TestRealHungDaemonFailsOpen runs the real daemon on the contended
// scenario until LOW is slowed (on structops: delayed in the kernel and
// capped by memory.high; on cgroupfs: capped), then SIGSTOPs it, as a
// hung daemon. On structops the kernel's lease expires: LOW keeps
// charging, and no charge is delayed any more, each counted as
// lease_expired, read from the kernel's maps while the daemon is stopped.
// On every kernel the stopped daemon's socket stops answering (what a
// liveness probe sees). The hung daemon is then killed, as systemd's
// watchdog or the kubelet would, and a new one restores every knob the
// hung one left changed, from the journal; stopped with SIGTERM, it
// leaves every knob at its original value.
func TestRealHungDaemonFailsOpen(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2)
	const lease = 3 * time.Second
	s := newScenario(t, "auto", "auto")
	s.config += "lease: 3s\n"
	cfg := s.parse(t)
	cfgPath := filepath.Join(t.TempDir(), "memqos.yaml")
	if err := os.WriteFile(cfgPath, []byte(s.config), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := testutil.Memqos(t)
	start := func() (*exec.Cmd, *syncBuffer) {
		var stderr syncBuffer
		cmd := exec.Command(bin, "daemon", "--config", cfgPath)
		cmd.Stderr = io.MultiWriter(&stderr, testutil.LogWriter(t))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				cmd.Process.Kill()
				cmd.Wait()
			}
		})
		return cmd, &stderr
	}

	first, _ := start()
	high, low := s.load(t)
	var st status.Status
	waitWithin(t, 2*time.Minute, "LOW slowed", func() bool {
		var err error
		st, err = fetchStatus(status.SocketPath(s.state))
		if err != nil {
			return false
		}
		c := statusClass(st, "low")
		capped := len(c.Members) > 0 && c.Members[0].High != nil
		if strings.HasPrefix(st.Backend, "structops") {
			return capped && c.Delay != "" && c.Counters["delay_active"] > 0
		}
		return capped
	})
	structops := strings.HasPrefix(st.Backend, "structops")
	if testutil.Promised(testutil.MemcgOps) && !structops {
		t.Fatalf("backend %q on a kernel with memcg_bpf_ops; want structops", st.Backend)
	}
	t.Logf("backend %s: LOW slowed: %+v", st.Backend, statusClass(st, "low"))
	// LOW keeps charging: a second process in LOW's member churns 2 MiB.
	churn := testutil.HelperCommand(t, "churn", "2")
	if err := low.Start(churn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { churn.Process.Kill(); churn.Wait() })

	var peek *bpf.Peek
	ids := memcgbpf.ClassIDs(cfg)
	if structops {
		var err error
		if peek, err = bpf.PeekLoaded(); err != nil {
			t.Fatal(err)
		}
		defer peek.Close()
		l, err := peek.Lease()
		if err != nil || l.Expired || l.Lease != lease {
			t.Fatalf("lease of the running daemon: %+v, %v; want %v, not expired", l, err, lease)
		}
		for _, class := range []string{"high", "low"} {
			if c := peekCounters(t, peek, ids[class]); c.LeaseExpired != 0 {
				t.Errorf("class %s: %d lease expiries while the daemon ran; want none", class, c.LeaseExpired)
			}
		}
	}

	if err := first.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	if err := probe(status.SocketPath(s.state)); err == nil {
		t.Error("/healthz of the stopped daemon answered")
	} else {
		t.Logf("/healthz of the stopped daemon: %v", err)
	}
	if structops {
		waitWithin(t, lease+10*time.Second, "the kernel to see the lease expired", func() bool {
			l, err := peek.Lease()
			return err == nil && l.Expired
		})
		t.Logf("lease expired %v after SIGSTOP (lease %v)", time.Since(stopped).Round(time.Millisecond), lease)
		time.Sleep(100 * time.Millisecond) // hook calls that read the clock before the expiry are done
		before := peekCounters(t, peek, ids["low"])
		waitWithin(t, 2*time.Minute, "LOW to charge with the lease expired", func() bool {
			return peekCounters(t, peek, ids["low"]).DelayCalls >= before.DelayCalls+20
		})
		c := peekCounters(t, peek, ids["low"]).Sub(before)
		if c.DelayActive != 0 || c.LeaseExpired == 0 {
			t.Errorf("LOW with the daemon stopped and the lease expired: %+v; want no delay, and lease expiries", c)
		}
		t.Logf("LOW, daemon stopped, lease expired: %d delay-hook calls, %d delays, %d lease expiries", c.DelayCalls, c.DelayActive, c.LeaseExpired)
	}
	// The hung daemon's knobs stay as it left them: memory.high is the
	// kernel's own, and only a new daemon restores it.
	if got := knob(t, low, "memory.high"); got == "max" {
		t.Errorf("LOW's memory.high is max while the daemon is stopped; want its cap")
	}

	// Killed, as a watchdog kills a hung daemon: its ops go with it.
	first.Process.Kill()
	first.Wait()
	assertNoLinks(t)
	j, err := journal.Open(s.state)
	if err != nil {
		t.Fatal(err)
	}
	left := j.Entries()
	if len(left) == 0 {
		t.Fatal("the killed daemon left nothing in the journal")
	}
	since := time.Now()
	second, stderr := start()
	waitWithin(t, 2*time.Minute, "the new daemon to restore what the hung one left", func() bool {
		return len(missingRestores(stderr.String(), left)) == 0
	})
	waitWithin(t, 2*time.Minute, "the new daemon to govern", func() bool {
		st, err := fetchStatus(status.SocketPath(s.state))
		return err == nil && st.Updated.After(since) && knob(t, low, "cpu.weight") == "50"
	})
	t.Logf("the new daemon restored %d knobs the hung one left", len(left))

	second.Process.Signal(syscall.SIGTERM)
	if err := second.Wait(); err != nil {
		t.Errorf("daemon stopped with %v; want exit 0", err)
	}
	assertScenarioRestored(t, high, low)
	if j, err := journal.Open(s.state); err != nil || len(j.Entries()) != 0 {
		t.Errorf("state file: %v, entries %+v", err, j.Entries())
	}
	assertNoLinks(t)
}

func statusClass(st status.Status, name string) status.ClassStatus {
	for _, c := range st.Classes {
		if c.Name == name {
			return c
		}
	}
	return status.ClassStatus{}
}

func peekCounters(t *testing.T, p *bpf.Peek, id bpf.ClassID) bpf.Counters {
	t.Helper()
	c, err := p.Counters(id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// probe gets /healthz on the daemon's socket as a liveness probe would,
// with a 2 s timeout, and returns an error unless it answers 200.
func probe(sock string) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	resp, err := client.Get("http://memqos/healthz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &statusError{resp.Status}
	}
	return nil
}

type statusError struct{ status string }

func (e *statusError) Error() string { return "/healthz: " + e.status }

// missingRestores returns the journal entries that the daemon log does
// not show restored as left by a previous daemon.
func missingRestores(log string, entries []journal.Entry) []journal.Entry {
	done := map[[2]string]bool{}
	for _, line := range strings.Split(log, "\n") {
		var ev struct{ Msg, Action, Cgroup, File, Reason string }
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Msg == "decision" && ev.Action == "restore" && ev.Reason == "left by a previous daemon" {
			done[[2]string{ev.Cgroup, ev.File}] = true
		}
	}
	var out []journal.Entry
	for _, e := range entries {
		if !done[[2]string{e.Cgroup, e.File}] {
			out = append(out, e)
		}
	}
	return out
}
