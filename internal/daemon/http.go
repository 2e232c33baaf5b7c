package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves /metrics (Prometheus), /healthz and /status (JSON).
func (d *Daemon) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(d.metrics.reg, promhttp.HandlerOpts{}))
	// /healthz fails once the control loop has not renewed its lease for
	// longer than the lease: the kernel has stopped trusting the daemon,
	// and a probe should restart it.
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		ok, msg := d.live.health()
		if !ok {
			http.Error(w, msg, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, msg)
	})
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(d.Status())
	})
	return mux
}

// FetchStatus asks the daemon serving on the unix socket sock for its
// status; it returns the decoded status and the JSON as served.
func FetchStatus(ctx context.Context, sock string) (Status, []byte, error) {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://memqos/status", nil)
	if err != nil {
		return Status{}, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return Status{}, nil, fmt.Errorf("no memqos daemon answers on %s (is it running, with this state file?): %w", sock, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return Status{}, nil, err
	}
	var st Status
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, nil, fmt.Errorf("status from %s: %w", sock, err)
	}
	return st, raw, nil
}

// SocketPath is the unix socket, beside the state file, on which the
// daemon always serves its handler (memqos status uses it).
func SocketPath(state string) string { return state + ".sock" }

// Serve serves the handler on the unix socket beside the state file and,
// if listen is set, on that TCP address, until ctx is done.
func (d *Daemon) Serve(ctx context.Context, listen string) error {
	sock := SocketPath(d.cfg.State)
	os.Remove(sock)
	uln, err := net.Listen("unix", sock)
	if err != nil {
		return fmt.Errorf("status socket: %w", err)
	}
	lns := []net.Listener{uln}
	if listen != "" {
		tln, err := net.Listen("tcp", listen)
		if err != nil {
			uln.Close()
			return fmt.Errorf("metrics listener: %w", err)
		}
		lns = append(lns, tln)
		d.log.Info("serving metrics", "addr", tln.Addr().String())
	}
	srv := &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, len(lns))
	for _, ln := range lns {
		go func() { errc <- srv.Serve(ln) }()
	}
	<-ctx.Done()
	srv.Close()
	os.Remove(sock)
	for range lns {
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	return nil
}
