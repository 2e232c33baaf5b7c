package daemon

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/policy"
)

// hangingBackend is a fake backend with a lease in the kernel, whose
// program can be made to hang, as a write that never returns would hang
// the control loop.
type hangingBackend struct {
	*fakeBackend
	beats atomic.Int64
	mu    sync.Mutex
	gate  chan struct{} // non-nil: program waits until it is closed
}

func (h *hangingBackend) heartbeat() error { h.beats.Add(1); return nil }

func (h *hangingBackend) program(policy.Plan) error {
	h.mu.Lock()
	g := h.gate
	h.mu.Unlock()
	if g != nil {
		<-g
	}
	return nil
}

func (h *hangingBackend) hang() {
	h.mu.Lock()
	h.gate = make(chan struct{})
	h.mu.Unlock()
}

func (h *hangingBackend) resume() {
	h.mu.Lock()
	close(h.gate)
	h.gate = nil
	h.mu.Unlock()
}

// notifySocket listens where sd_notify sends, and collects what it gets.
type notifySocket struct {
	mu   sync.Mutex
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
	n := &notifySocket{}
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				return
			}
			n.mu.Lock()
			n.msgs = append(n.msgs, string(buf[:k]))
			n.mu.Unlock()
		}
	}()
	return n
}

func (n *notifySocket) count(msg string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, m := range n.msgs {
		if strings.HasPrefix(m, msg) {
			c++
		}
	}
	return c
}

func (n *notifySocket) all() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.msgs...)
}

func healthz(t *testing.T, d *Daemon) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	d.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	body, _ := io.ReadAll(rec.Body)
	return rec.Code, strings.TrimSpace(string(body))
}

// TestHungLoopStopsHeartbeat: a daemon under systemd says READY=1 once it
// governs, and at every turn renews its lease (in the kernel, with
// systemd's watchdog, and as /healthz reports it). When its loop hangs,
// none of them is renewed and /healthz fails once the lease has passed;
// when it resumes, they are again. On stop it says STOPPING=1.
func TestHungLoopStopsHeartbeat(t *testing.T) {
	n := listenNotify(t)
	t.Setenv("WATCHDOG_USEC", "10000000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	fsys := contendedTree(t)
	be := &hangingBackend{fakeBackend: newFake()}
	cfg, err := config.Parse([]byte(testConfig + "lease: 2s\nstate: " + filepath.Join(t.TempDir(), "state.json") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Options{Config: cfg, FS: fsys, Backend: use(be), Machine: 4 << 30, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if code, body := healthz(t, d); code != http.StatusServiceUnavailable || body != "the control loop has not run yet" {
		t.Errorf("/healthz before Run: %d %q", code, body)
	}
	stop := start(d)
	waitFor(t, "READY=1 and watchdog pings", func() bool { return n.count("READY=1") == 1 && n.count("WATCHDOG=1") >= 2 })
	if code, body := healthz(t, d); code != http.StatusOK || !strings.HasPrefix(body, "ok: the control loop last ran ") || !strings.HasSuffix(body, "ago (lease 2s)") {
		t.Errorf("/healthz of a running daemon: %d %q", code, body)
	}

	be.hang()
	time.Sleep(time.Second) // the turn in progress reaches the hang
	beats, pings := be.beats.Load(), n.count("WATCHDOG=1")
	waitWithin(t, 10*time.Second, "/healthz to fail past the lease", func() bool {
		code, _ := healthz(t, d)
		return code == http.StatusServiceUnavailable
	})
	_, body := healthz(t, d)
	if !strings.Contains(body, "longer than the 2s lease: it is hung") {
		t.Errorf("/healthz of a hung daemon says %q", body)
	}
	if b, p := be.beats.Load(), n.count("WATCHDOG=1"); b != beats || p != pings {
		t.Errorf("while hung: %d kernel heartbeats and %d watchdog pings more; want none", b-beats, p-pings)
	}

	be.resume()
	waitFor(t, "/healthz to pass again", func() bool { code, _ := healthz(t, d); return code == http.StatusOK })
	if be.beats.Load() == beats || n.count("WATCHDOG=1") == pings {
		t.Error("no heartbeat after the loop resumed")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	msgs := n.all()
	if msgs[len(msgs)-1] != "STOPPING=1" {
		t.Errorf("last notification %q; want STOPPING=1", msgs[len(msgs)-1])
	}
}

// TestNoNotifySocket: without systemd nothing is sent, and nothing fails.
func TestNoNotifySocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	d, _ := newTestDaemon(t, contendedTree(t), newFake(), false)
	stop := start(d)
	waitFor(t, "/healthz to pass", func() bool { code, _ := healthz(t, d); return code == http.StatusOK })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
