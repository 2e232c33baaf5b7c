package daemon

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/govern"
	"github.com/memqos/memqos/internal/policy"
	"golang.org/x/sys/unix"
)

// leaser is a fake actuator with a lease in the kernel: it counts the
// daemon's heartbeats.
type leaser struct{ beats int }

func (l *leaser) Name() string                                       { return "leaser" }
func (l *leaser) Add(*govern.Member) error                           { return nil }
func (l *leaser) Remove(*govern.Member) error                        { return nil }
func (l *leaser) Apply(policy.Plan, map[string]*govern.Member) error { return nil }
func (l *leaser) Close() error                                       { return nil }
func (l *leaser) Heartbeat() error                                   { l.beats++; return nil }

// notifySocket listens where sd_notify sends, and keeps what it got.
// sd_notify's send has completed when the call that made it returns, so
// reading what is queued is exact: nothing waits.
type notifySocket struct {
	conn *net.UnixConn
	msgs []string
}

func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return &notifySocket{conn: conn}
}

// read takes the messages queued so far, without waiting.
func (n *notifySocket) read() []string {
	rc, err := n.conn.SyscallConn()
	if err != nil {
		return n.msgs
	}
	buf := make([]byte, 4096)
	rc.Control(func(fd uintptr) {
		for {
			k, _, err := unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
			if err != nil {
				return
			}
			n.msgs = append(n.msgs, string(buf[:k]))
		}
	})
	return n.msgs
}

func (n *notifySocket) count(msg string) int {
	c := 0
	for _, m := range n.read() {
		if strings.HasPrefix(m, msg) {
			c++
		}
	}
	return c
}

func healthz(t *testing.T, d *Daemon) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	d.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	body, _ := io.ReadAll(rec.Body)
	return rec.Code, strings.TrimSpace(string(body))
}

// TestHungLoopStopsHeartbeat: at every turn the daemon renews its lease:
// in the kernel (the actuators that hold one), with systemd's watchdog,
// and as /healthz reports it. A loop that makes no turn (hung) renews
// none of them, and /healthz fails once the lease has passed, on the
// daemon's clock; the next turn renews them all.
func TestHungLoopStopsHeartbeat(t *testing.T) {
	n := listenNotify(t)
	t.Setenv("WATCHDOG_USEC", "10000000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	l := &leaser{}
	h := newHarnessWith(t, contendedTree(t), testConfig+"lease: 2s\n", false, l)
	if code, body := healthz(t, h.d); code != http.StatusServiceUnavailable || body != "the control loop has not run yet" {
		t.Errorf("/healthz before the loop ran: %d %q", code, body)
	}
	if err := h.d.start(); err != nil {
		t.Fatal(err)
	}
	defer h.stop()
	h.step()
	beats, pings := l.beats, n.count("WATCHDOG=1")
	if beats == 0 || pings == 0 {
		t.Fatalf("%d kernel heartbeats and %d watchdog pings after the first turns; want some", beats, pings)
	}
	if code, body := healthz(t, h.d); code != http.StatusOK || body != "ok: the control loop last ran 0s ago (lease 2s)" {
		t.Errorf("/healthz of a running daemon: %d %q", code, body)
	}
	// Hung: no turn for longer than the lease.
	h.clock.t = h.clock.t.Add(2100 * time.Millisecond)
	if code, body := healthz(t, h.d); code != http.StatusServiceUnavailable || !strings.Contains(body, "last ran 2.1s ago, longer than the 2s lease: it is hung") {
		t.Errorf("/healthz of a hung daemon: %d %q", code, body)
	}
	if l.beats != beats || n.count("WATCHDOG=1") != pings {
		t.Errorf("while hung: %d kernel heartbeats and %d watchdog pings more; want none", l.beats-beats, n.count("WATCHDOG=1")-pings)
	}
	// The next turn renews the lease, and says the loop was late.
	h.step()
	if code, _ := healthz(t, h.d); code != http.StatusOK || l.beats != beats+1 || n.count("WATCHDOG=1") != pings+1 {
		t.Errorf("after a turn: /healthz %d, %d heartbeats and %d pings more; want 200, 1, 1", code, l.beats-beats, n.count("WATCHDOG=1")-pings)
	}
	if !strings.Contains(h.log.String(), "the control loop went longer than the lease") {
		t.Error("the late turn was not logged")
	}
}

// TestRunNotifiesSystemd: Run says READY=1 once it governs and STOPPING=1
// when it stops, and pings the watchdog in between.
func TestRunNotifiesSystemd(t *testing.T) {
	n := listenNotify(t)
	t.Setenv("WATCHDOG_USEC", "10000000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	h := newHarnessAt(t, contendedTree(t), testConfig, filepath.Join(t.TempDir(), "state.json"), false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Run governs the members there are, then stops
	if err := h.d.Run(ctx); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, m := range n.read() {
		if len(kinds) == 0 || kinds[len(kinds)-1] != m {
			kinds = append(kinds, m)
		}
	}
	if strings.Join(kinds, ",") != "WATCHDOG=1,READY=1,WATCHDOG=1,STOPPING=1" && strings.Join(kinds, ",") != "WATCHDOG=1,READY=1,STOPPING=1" {
		t.Errorf("notifications %v; want watchdog pings as members are added, READY=1, then STOPPING=1", kinds)
	}
}

// TestNoNotifySocket: without systemd nothing is sent, and nothing fails.
func TestNoNotifySocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	h := newHarness(t, contendedTree(t), testConfig, false)
	h.step()
	if code, _ := healthz(t, h.d); code != http.StatusOK {
		t.Errorf("/healthz %d", code)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
}
