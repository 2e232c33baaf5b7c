package daemon

import (
	"fmt"
	"log/slog"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/kernel"
)

// choice is the backend and detector source a configuration gets on a
// host, and why.
type choice struct {
	backend config.Backend
	source  config.Source
	why     string
}

// choose resolves auto backend and source from the probe, and refuses a
// combination the host cannot do, saying what is missing.
func choose(cfg *config.Config, r *kernel.Report) (choice, error) {
	ch := choice{backend: cfg.Backend, source: cfg.Detector.Source}
	ops := r.Backend == kernel.BackendMemcgOps
	if ch.backend == config.BackendAuto {
		ch.backend, ch.why = config.BackendCgroupFS, "auto: "+r.BackendWhy
		if ops {
			ch.backend = config.BackendStructOps
		}
	}
	if ch.backend == config.BackendStructOps {
		if !ops {
			return ch, fmt.Errorf("backend structops needs a kernel with the memcg_bpf_ops RFC, the count_memcg_events tracepoint and BPF privileges: %s (use backend: cgroupfs or auto)", r.BackendWhy)
		}
		switch ch.source {
		case config.SourceAuto, config.SourcePgfault:
			ch.source = config.SourcePgfault
		default:
			return ch, &config.FieldError{Path: "detector.source", Msg: fmt.Sprintf("%s works with the cgroupfs backend; structops detects page faults in the kernel (pgfault)", ch.source)}
		}
		if ch.why == "" {
			ch.why = "configured: memcg_bpf_ops " + string(r.ABI)
		}
		return ch, nil
	}
	return chooseSource(ch, r)
}

func chooseSource(ch choice, r *kernel.Report) (choice, error) {
	tp := r.Tracepoint.OK && r.BTF.OK && r.Privileges.OK
	if ch.source == config.SourceAuto {
		switch {
		case tp:
			ch.source = config.SourcePgfault
		case r.PSI.OK:
			ch.source = config.SourcePSI
		default:
			ch.source = config.SourceEvents
		}
	}
	switch {
	case ch.source == config.SourcePgfault && !tp:
		return ch, fmt.Errorf("detector source pgfault needs the memcg:count_memcg_events tracepoint, kernel BTF and BPF privileges: %s", r.Tracepoint.Detail+r.BTF.Detail+r.Privileges.Detail)
	case ch.source == config.SourcePSI && !r.PSI.OK:
		return ch, fmt.Errorf("detector source psi needs pressure stall information: %s", r.PSI.Detail)
	}
	if ch.why == "" {
		ch.why = "configured"
	}
	return ch, nil
}

// openBackend probes the host and opens the backend cfg asks for.
func openBackend(cfg *config.Config, fsys *cgroup.FS, root *cgroup.Group, log *slog.Logger) (backend, error) {
	h := &kernel.Host{CgroupRoot: fsys.Root}
	ch, err := choose(cfg, h.Probe())
	if err != nil {
		return nil, err
	}
	log.Info("backend chosen", "backend", ch.backend, "source", ch.source, "why", ch.why)
	if ch.backend == config.BackendStructOps {
		return newStructOps(cfg)
	}
	return newCgroupFS(cfg, ch.source, root)
}
