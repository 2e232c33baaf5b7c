package bpf

import (
	"fmt"
	"time"
)

// MaxLease is the longest lease SetLease takes.
const MaxLease = time.Hour

// SetLease makes the memcg_bpf_ops of every attachment fail open when
// the caller stops renewing its lease: once the last Heartbeat is older
// than lease, HIGH cgroups are no longer protected and LOW charges are no
// longer delayed (each such call counts as LeaseExpired), until the next
// Heartbeat. A caller that hangs (stopped, deadlocked, stuck in a system
// call) thus stops slowing LOW within lease. SetLease also beats. A lease
// of 0 turns the lease off: the ops act whatever the caller does, as
// after NewDetector. The detector's counting and triggers do not depend
// on the lease. Safe for concurrent use.
func (d *Detector) SetLease(lease time.Duration) error {
	if lease < 0 || lease > MaxLease {
		return fmt.Errorf("set lease: %v is outside [0, %v]", lease, MaxLease)
	}
	d.leaseMu.Lock()
	defer d.leaseMu.Unlock()
	d.leaseLen = lease
	return d.beat()
}

// Heartbeat renews the lease: the ops act for the lease's length from
// now. Without a lease it does nothing but write the time. Safe for
// concurrent use.
func (d *Detector) Heartbeat() error {
	d.leaseMu.Lock()
	defer d.leaseMu.Unlock()
	return d.beat()
}

// beat writes now as the heartbeat, with the lease; d.leaseMu is held.
func (d *Detector) beat() error {
	now, err := Monotonic()
	if err != nil {
		return err
	}
	done, err := d.use()
	if err != nil {
		return err
	}
	defer done()
	v := detectorMemqosLease{HeartbeatNs: uint64(now), LeaseNs: uint64(d.leaseLen)}
	if err := d.objs.Lease.Put(uint32(0), v); err != nil {
		return fmt.Errorf("write heartbeat: %w", err)
	}
	return nil
}

// LeaseState is the lease as the BPF programs see it.
type LeaseState struct {
	// Lease is the lease's length; 0 means no lease.
	Lease time.Duration `json:"lease_ns"`
	// Heartbeat is the last heartbeat (CLOCK_MONOTONIC, as Monotonic);
	// 0 means never.
	Heartbeat time.Duration `json:"heartbeat_ns"`
	// Expired: there is a lease and the heartbeat is older than it (or
	// there was none), so the ops answer no.
	Expired bool `json:"expired"`
}

// Lease reads the lease from the map. Safe for concurrent use.
func (d *Detector) Lease() (LeaseState, error) {
	done, err := d.use()
	if err != nil {
		return LeaseState{}, err
	}
	defer done()
	var v detectorMemqosLease
	if err := d.objs.Lease.Lookup(uint32(0), &v); err != nil {
		return LeaseState{}, fmt.Errorf("read lease: %w", err)
	}
	now, err := Monotonic()
	if err != nil {
		return LeaseState{}, err
	}
	return leaseState(v, now), nil
}

// leaseState is lease_expired in c/memqos.h.
func leaseState(v detectorMemqosLease, now time.Duration) LeaseState {
	st := LeaseState{Lease: time.Duration(v.LeaseNs), Heartbeat: time.Duration(v.HeartbeatNs)}
	st.Expired = v.LeaseNs != 0 && (v.HeartbeatNs == 0 || int64(uint64(now)-v.HeartbeatNs) > int64(v.LeaseNs))
	return st
}
