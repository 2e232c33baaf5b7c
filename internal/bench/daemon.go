package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/daemon"
	"github.com/memqos/memqos/internal/status"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// governTimeout bounds the wait for the daemon to pick up an arm's
// members: struct_ops attachment takes about 0.4 s a member under TCG.
const governTimeout = 60 * time.Second

// runningDaemon is the memqos daemon of one arm, in this process: the same
// code `memqos daemon` runs, on a configuration written for the arm.
type runningDaemon struct {
	d      *daemon.Daemon
	cancel context.CancelFunc
	done   chan error
	log    *os.File
	// state is its state file.
	state string
}

// startDaemon writes the arm's configuration into dir, starts the daemon on
// it, and waits until it governs members cgroups.
func startDaemon(ctx context.Context, fsys *cgroup.FS, p armPlan, root, dir string, members int) (*runningDaemon, error) {
	state := filepath.Join(dir, "state.json")
	s := p.name
	text, err := p.daemonConfig(root, state)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(text), 0o644); err != nil {
		return nil, err
	}
	cfg, err := config.Parse([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("strategy %s: configuration: %w", s, err)
	}
	logf, err := os.Create(filepath.Join(dir, "daemon.log"))
	if err != nil {
		return nil, err
	}
	d, err := daemon.New(daemon.Options{Config: cfg, FS: fsys, Logger: slog.New(slog.NewJSONHandler(logf, nil))})
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("strategy %s: %w", s, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	rd := &runningDaemon{d: d, cancel: cancel, done: make(chan error, 1), log: logf, state: state}
	go func() { rd.done <- d.Run(ctx) }()
	deadline := time.Now().Add(governTimeout)
	for governed(d.Status()) < members {
		select {
		case err := <-rd.done:
			logf.Close()
			cancel()
			return nil, fmt.Errorf("strategy %s: the daemon stopped before governing the sessions: %v", s, err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			err := rd.stop()
			return nil, errors.Join(fmt.Errorf("strategy %s: the daemon governs %d of %d sessions after %v", s, governed(d.Status()), members, governTimeout), err)
		}
	}
	return rd, nil
}

func governed(st status.Status) int {
	n := 0
	for _, c := range st.Classes {
		n += len(c.Members)
	}
	return n
}

// report reads the daemon's counters: the backend's per-class counters
// from its status, and its Prometheus counters.
func (rd *runningDaemon) report() (*DaemonReport, []byte) {
	st := rd.d.Status()
	r := &DaemonReport{Backend: st.Backend, Counters: map[string]float64{}}
	for _, c := range st.Classes {
		for k, v := range c.Counters {
			r.Counters[c.Name+"."+k] = float64(v)
		}
	}
	fams, err := rd.d.Gatherer().Gather()
	if err != nil {
		r.Error = fmt.Sprintf("metrics: %v", err)
	}
	var text bytes.Buffer
	for _, f := range fams {
		expfmt.MetricFamilyToText(&text, f)
		for _, m := range f.GetMetric() {
			addMetric(r.Counters, f, m)
		}
	}
	return r, text.Bytes()
}

// addMetric keeps the daemon's counters (and a histogram's count and sum);
// per-member gauges change too fast to mean anything at the end.
func addMetric(into map[string]float64, f *dto.MetricFamily, m *dto.Metric) {
	key := f.GetName() + labels(m)
	switch f.GetType() {
	case dto.MetricType_COUNTER:
		into[key] = m.GetCounter().GetValue()
	case dto.MetricType_HISTOGRAM:
		into[f.GetName()+"_count"+labels(m)] = float64(m.GetHistogram().GetSampleCount())
		into[f.GetName()+"_sum"+labels(m)] = m.GetHistogram().GetSampleSum()
	}
}

func labels(m *dto.Metric) string {
	var kv []string
	for _, l := range m.GetLabel() {
		kv = append(kv, l.GetName()+"="+l.GetValue())
	}
	if len(kv) == 0 {
		return ""
	}
	sort.Strings(kv)
	return "{" + strings.Join(kv, ",") + "}"
}

// stop stops the daemon, which restores every knob it changed, and waits
// for it.
func (rd *runningDaemon) stop() error {
	rd.cancel()
	err := <-rd.done
	return errors.Join(err, rd.log.Close())
}
