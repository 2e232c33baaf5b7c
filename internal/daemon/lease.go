package daemon

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
	"github.com/memqos/memqos/internal/config"
)

// The daemon's lease. The control loop renews it at every turn (and for
// each member it adds, which can take a while on structops): the backend's
// BPF lease, so that the kernel stops slowing LOW once the daemon hangs
// (config lease), systemd's watchdog (WATCHDOG=1, when the unit sets
// WatchdogSec=), and what /healthz reports. A loop that is stopped,
// deadlocked or stuck on a write renews none of them: the kernel fails
// open within the lease, /healthz fails, and systemd or the kubelet
// restarts the daemon, which restores the knobs from the journal.

// liveness is when the control loop last renewed its lease. Its methods
// are safe for concurrent use: the loop writes, /healthz reads.
type liveness struct {
	start time.Time    // the monotonic origin of last
	last  atomic.Int64 // since start, ns; 0 = never
	lease atomic.Int64 // the configured lease, ns

	watchdogOnce sync.Once
	watchdog     bool // systemd watches this process (WATCHDOG_USEC for our pid)
}

// attachGrace lengthens the lease while a member's memcg_bpf_ops load and
// attach: the verifier can take seconds on a slow or busy machine (4.8 s
// for a LOW member in a TCG guest with two busy vCPUs), and the loop
// renews nothing meanwhile. An attach that hangs keeps LOW slowed for at
// most lease + attachGrace.
const attachGrace = 30 * time.Second

// leaser is a backend that holds a lease in the kernel.
type leaser interface{ heartbeat() error }

func (b *structopsBackend) heartbeat() error { return b.det.Heartbeat() }

// heartbeat renews the lease; the control loop calls it at every turn.
func (d *Daemon) heartbeat() {
	l := &d.live
	lease := d.cfg.Lease.D()
	if lease <= 0 { // a configuration that was not parsed
		lease = config.DefaultLease
	}
	l.lease.Store(int64(lease))
	now := time.Since(l.start)
	if prev := time.Duration(l.last.Swap(int64(now))); prev > 0 && now-prev > lease {
		d.log.Warn("the control loop went longer than the lease without renewing it; /healthz failed meanwhile", "gap", (now - prev).String(), "lease", lease.String())
	}
	if be, ok := d.be.(leaser); ok {
		if err := be.heartbeat(); err != nil {
			d.log.Error("renew the lease in the kernel", "err", err)
		}
	}
	l.watchdogOnce.Do(func() {
		t, err := sd.SdWatchdogEnabled(false)
		l.watchdog = err == nil && t > 0
		if l.watchdog {
			d.log.Info("systemd watchdog", "interval", t.String(), "lease", lease.String())
		}
	})
	if l.watchdog {
		notify(sd.SdNotifyWatchdog)
	}
}

// health reports whether the loop renewed its lease within the lease,
// and says so in a line.
func (l *liveness) health() (bool, string) {
	last, lease := time.Duration(l.last.Load()), time.Duration(l.lease.Load())
	if last == 0 {
		return false, "the control loop has not run yet"
	}
	age := (time.Since(l.start) - last).Round(time.Millisecond)
	if age > lease {
		return false, fmt.Sprintf("the control loop last ran %v ago, longer than the %v lease: it is hung, and the kernel no longer slows LOW for it", age, lease)
	}
	return true, fmt.Sprintf("ok: the control loop last ran %v ago (lease %v)", age, lease)
}

// notify tells systemd state (READY=1, WATCHDOG=1, ...) when it started
// the daemon with a notify socket (Type=notify); otherwise it does
// nothing.
func notify(state string) { sd.SdNotify(false, state) }

// Messages for notify.
const (
	sdReady     = sd.SdNotifyReady
	sdStopping  = sd.SdNotifyStopping
	sdReloading = sd.SdNotifyReloading
)
