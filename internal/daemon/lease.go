package daemon

import (
	"fmt"
	"sync"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/govern"
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
	now   func() time.Time // the daemon's clock
	mu    sync.Mutex
	last  time.Time     // zero = never
	lease time.Duration // the configured lease

	watchdogOnce sync.Once
	watchdog     bool // systemd watches this process (WATCHDOG_USEC for our pid)
}

// heartbeat renews the lease; the control loop calls it at every turn.
func (d *Daemon) heartbeat() {
	l := &d.live
	lease := d.cfg.Lease.D()
	if lease <= 0 { // a configuration that was not parsed
		lease = config.DefaultLease
	}
	now := l.now()
	l.mu.Lock()
	prev := l.last
	l.last, l.lease = now, lease
	l.mu.Unlock()
	if gap := now.Sub(prev); !prev.IsZero() && gap > lease {
		d.log.Warn("the control loop went longer than the lease without renewing it; /healthz failed meanwhile", "gap", gap.String(), "lease", lease.String())
	}
	for _, a := range d.plugins.acts {
		if l, ok := a.(govern.Leaser); ok {
			d.logErr("renew the lease in the kernel", l.Heartbeat(), "actuator", a.Name())
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
	l.mu.Lock()
	last, lease := l.last, l.lease
	l.mu.Unlock()
	if last.IsZero() {
		return false, "the control loop has not run yet"
	}
	age := l.now().Sub(last).Round(time.Millisecond)
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
