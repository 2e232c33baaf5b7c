package bpf

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/memqos/memqos/internal/kernel"
	"golang.org/x/sys/unix"
)

// Detector is the loaded pressure detector: the count_memcg_events
// tracepoint program and the maps the memcg_bpf_ops programs share.
type Detector struct {
	objs    detectorObjects
	tp      link.Link
	spec    *btf.Spec
	pgfault uint32
}

// NewDetector loads the detector with cfg and attaches it to the
// memcg:count_memcg_events tracepoint. PGFAULT is resolved from kernel
// BTF. It fails with an error wrapping kernel.ErrNotSupported on kernels
// without BTF or without the tracepoint.
func NewDetector(cfg Config) (*Detector, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return nil, fmt.Errorf("load kernel BTF: %w", errors.Join(err, kernel.ErrNotSupported))
	}
	pgfault, err := kernel.PGFaultItem(spec)
	if err != nil {
		return nil, err
	}
	if !kernel.HasCountMemcgEvents(spec) {
		return nil, fmt.Errorf("load detector: the kernel has no memcg:count_memcg_events tracepoint: %w", kernel.ErrNotSupported)
	}
	d := &Detector{spec: spec, pgfault: pgfault}
	if err := loadDetectorObjects(&d.objs, nil); err != nil {
		return nil, fmt.Errorf("load detector: %w", err)
	}
	if err := d.SetConfig(cfg); err != nil {
		d.objs.Close()
		return nil, err
	}
	d.tp, err = link.Tracepoint("memcg", "count_memcg_events", d.objs.CountMemcgEvents, nil)
	if err != nil {
		d.objs.Close()
		if errors.Is(err, os.ErrNotExist) {
			err = fmt.Errorf("%w (the kernel has no such tracepoint): %w", err, kernel.ErrNotSupported)
		}
		return nil, fmt.Errorf("attach tracepoint memcg:count_memcg_events: %w", err)
	}
	return d, nil
}

// PGFaultItem is the tracepoint item for page faults on this kernel.
func (d *Detector) PGFaultItem() uint32 { return d.pgfault }

// SetConfig replaces the policy; programs see it at their next run.
func (d *Detector) SetConfig(cfg Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	raw := cfg.raw(d.pgfault)
	if err := d.objs.Config.Put(uint32(0), &raw); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}

// AddHigh makes the cgroup with id a HIGH cgroup, whose page faults count.
func (d *Detector) AddHigh(id uint64) error {
	if err := d.objs.HighCgroups.Update(id, detectorHighWindow{}, ebpf.UpdateNoExist); err != nil && !errors.Is(err, ebpf.ErrKeyExist) {
		return fmt.Errorf("add HIGH cgroup %d: %w", id, err)
	}
	return nil
}

// RemoveHigh stops counting the page faults of the cgroup with id.
func (d *Detector) RemoveHigh(id uint64) error {
	if err := d.objs.HighCgroups.Delete(id); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("remove HIGH cgroup %d: %w", id, err)
	}
	return nil
}

// Pressure reports whether HIGH is under pressure now, and until when
// (CLOCK_MONOTONIC, as bpf_ktime_get_ns).
func (d *Detector) Pressure() (bool, time.Duration, error) {
	var st detectorMemqosState
	if err := d.objs.State.Lookup(uint32(0), &st); err != nil {
		return false, 0, fmt.Errorf("read state: %w", err)
	}
	var now unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &now); err != nil {
		return false, 0, err
	}
	until := time.Duration(st.TriggeredUntilNs)
	return time.Duration(now.Nano()) < until, until, nil
}

// Counters sums the programs' per-CPU counters.
func (d *Detector) Counters() (Counters, error) {
	var c Counters
	for i, field := range c.counterFields() {
		var perCPU []uint64
		if err := d.objs.Counters.Lookup(uint32(i), &perCPU); err != nil {
			return Counters{}, fmt.Errorf("read counter %d: %w", i, err)
		}
		for _, v := range perCPU {
			*field += v
		}
	}
	return c, nil
}

// Close detaches the tracepoint and unloads the detector. Attachments must
// be closed first.
func (d *Detector) Close() error {
	var err error
	if d.tp != nil {
		err = d.tp.Close()
	}
	return errors.Join(err, d.objs.Close())
}
