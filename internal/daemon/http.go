package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/memqos/memqos/internal/status"
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

// Serve serves the handler on the unix socket beside the state file and,
// if listen is set, on that TCP address, until ctx is done.
func (d *Daemon) Serve(ctx context.Context, listen string) error {
	sock := status.SocketPath(d.cfg.State)
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
