package bpf

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/memqos/memqos/internal/kernel"
	"golang.org/x/sys/unix"
)

// Detector is the loaded pressure detector: the count_memcg_events
// program, the per-class maps the memcg_bpf_ops programs share, and the
// reader of its trigger events. Its methods are safe for concurrent use.
type Detector struct {
	objs     detectorObjects
	tpMu     sync.Mutex
	tp       link.Link // nil while detached (SetAttached)
	spec     *btf.Spec
	pgfault  uint32
	events   *ringbuf.Reader
	triggers chan Trigger
	done     chan struct{}

	leaseMu  sync.Mutex // orders SetLease and Heartbeat
	leaseLen time.Duration

	// mu guards the maps against Close: methods that use them hold it
	// for reading (RemoveClass, which must see no concurrent member
	// changes, and Close hold it for writing).
	mu       sync.RWMutex
	closed   bool
	closeErr error
}

// ErrClosed is returned by a Detector's methods after Close.
var ErrClosed = errors.New("bpf: detector closed")

// use holds d open for reading; call the returned function when done.
func (d *Detector) use() (func(), error) {
	d.mu.RLock()
	if d.closed {
		d.mu.RUnlock()
		return nil, ErrClosed
	}
	return d.mu.RUnlock, nil
}

// NewDetector loads the detector and attaches it to the
// memcg:count_memcg_events tracepoint (BTF-typed). It needs CAP_BPF and
// CAP_PERFMON (or CAP_SYS_ADMIN). No class is configured: call SetHigh,
// SetLow and AddHighCgroup. PGFAULT is resolved from kernel BTF. It fails
// with an error wrapping kernel.ErrNotSupported on kernels without BTF or
// without the tracepoint.
func NewDetector() (*Detector, error) {
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
	d := &Detector{spec: spec, pgfault: pgfault, triggers: make(chan Trigger, triggerBuffer), done: make(chan struct{})}
	if err := loadDetectorObjects(&d.objs, &ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{KernelTypes: spec}}); err != nil {
		return nil, fmt.Errorf("load detector: %w", err)
	}
	if err := d.start(); err != nil {
		d.objs.Close()
		return nil, err
	}
	return d, nil
}

// start writes the global entry, opens the trigger reader and attaches
// the program.
func (d *Detector) start() error {
	if err := d.objs.Classes.Put(uint32(0), detectorMemqosClass{PgfaultItem: d.pgfault}); err != nil {
		return fmt.Errorf("write detector config: %w", err)
	}
	var err error
	if d.events, err = ringbuf.NewReader(d.objs.Triggers); err != nil {
		return fmt.Errorf("open trigger ring buffer: %w", err)
	}
	if err := d.attach(); err != nil {
		d.events.Close()
		return err
	}
	go d.readTriggers()
	return nil
}

// attach attaches the program to the tracepoint; d.tpMu is held or d is
// not yet shared.
func (d *Detector) attach() error {
	tp, err := link.AttachTracing(link.TracingOptions{Program: d.objs.MemqosCountMemcgEvents, AttachType: ebpf.AttachTraceRawTp})
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			err = fmt.Errorf("%w (the kernel has no such tracepoint): %w", err, kernel.ErrNotSupported)
		}
		return fmt.Errorf("attach tp_btf memcg:count_memcg_events: %w", err)
	}
	d.tp = tp
	return nil
}

// SetAttached attaches the program to the tracepoint (as NewDetector
// leaves it), or detaches it. Attached, the program runs on every memory
// event of every cgroup, a cost the detector's callers pay only while
// memory is close to contended; detached, nothing is counted and nothing
// triggers, and the windows restart from what they held. Attaching takes a
// BPF link; doing what is already done does nothing.
func (d *Detector) SetAttached(on bool) error {
	done, err := d.use()
	if err != nil {
		return err
	}
	defer done()
	d.tpMu.Lock()
	defer d.tpMu.Unlock()
	switch {
	case on && d.tp == nil:
		return d.attach()
	case !on && d.tp != nil:
		err := d.tp.Close()
		d.tp = nil
		if err != nil {
			return fmt.Errorf("detach tp_btf memcg:count_memcg_events: %w", err)
		}
	}
	return nil
}

// PGFaultItem is the tracepoint item for page faults on this kernel.
func (d *Detector) PGFaultItem() uint32 { return d.pgfault }

// SetHigh makes id a HIGH class with cfg, or changes its policy; programs
// see it at their next run, also while attached. The class's window and
// pressure state are kept.
func (d *Detector) SetHigh(id ClassID, cfg HighConfig) error {
	if err := errors.Join(id.valid(), cfg.validate()); err != nil {
		return fmt.Errorf("set HIGH class: %w", err)
	}
	return d.putClass(id, cfg.raw())
}

// SetLow makes id a LOW class with cfg, or changes its policy; programs
// see it at their next run, also while attached.
func (d *Detector) SetLow(id ClassID, cfg LowConfig) error {
	if err := errors.Join(id.valid(), cfg.validate()); err != nil {
		return fmt.Errorf("set LOW class: %w", err)
	}
	return d.putClass(id, cfg.raw())
}

func (d *Detector) putClass(id ClassID, raw detectorMemqosClass) error {
	done, err := d.use()
	if err != nil {
		return err
	}
	defer done()
	if err := d.objs.Classes.Put(uint32(id), raw); err != nil {
		return fmt.Errorf("write class %d: %w", id, err)
	}
	return nil
}

// RemoveClass forgets id: its policy, pressure, window and armed state,
// and the HIGH member cgroups registered for it. Ops still attached with
// id then answer no. Its counters are kept.
func (d *Detector) RemoveClass(id ClassID) error {
	if err := id.valid(); err != nil {
		return fmt.Errorf("remove class: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	var (
		cg  uint64
		cls uint32
		del []uint64
	)
	it := d.objs.HighCgroups.Iterate()
	for it.Next(&cg, &cls) {
		if cls == uint32(id) {
			del = append(del, cg)
		}
	}
	err := it.Err()
	for _, cg := range del {
		if e := d.objs.HighCgroups.Delete(cg); e != nil && !errors.Is(e, ebpf.ErrKeyNotExist) {
			err = errors.Join(err, e)
		}
	}
	k := uint32(id)
	err = errors.Join(err,
		d.objs.Classes.Put(k, detectorMemqosClass{}),
		d.objs.ClassState.Put(k, detectorMemqosState{}),
		d.objs.Windows.Put(k, detectorClassWindow{}),
		d.objs.Armed.Put(k, uint32(0)))
	if err != nil {
		return fmt.Errorf("remove class %d: %w", id, err)
	}
	return nil
}

// Arm sets whether HIGH class id may trigger, for classes with
// RequireArmed: the caller arms a class while it sees its memory
// contended (usage near limits, PSI, memory.events), and disarms it when
// the contention is gone. Disarming does not end pressure already
// triggered; it ends after the class's Hold.
func (d *Detector) Arm(id ClassID, armed bool) error {
	if err := id.valid(); err != nil {
		return fmt.Errorf("arm: %w", err)
	}
	var v uint32
	if armed {
		v = 1
	}
	done, err := d.use()
	if err != nil {
		return err
	}
	defer done()
	if err := d.objs.Armed.Put(uint32(id), v); err != nil {
		return fmt.Errorf("arm class %d: %w", id, err)
	}
	return nil
}

// AddHighCgroup registers the cgroup with cgroupID (its directory's inode
// number) as a member root of HIGH class id: page faults anywhere in its
// subtree count for the class. A cgroup inside two registered members
// counts for the nearer one; at most 32 levels above a faulting cgroup
// are searched. Registering a cgroup again moves it to id.
func (d *Detector) AddHighCgroup(cgroupID uint64, id ClassID) error {
	if err := id.valid(); err != nil {
		return fmt.Errorf("add HIGH cgroup %d: %w", cgroupID, err)
	}
	done, err := d.use()
	if err != nil {
		return err
	}
	defer done()
	if err := d.objs.HighCgroups.Put(cgroupID, uint32(id)); err != nil {
		return fmt.Errorf("add HIGH cgroup %d to class %d: %w", cgroupID, id, err)
	}
	return nil
}

// RemoveHighCgroup stops counting the page faults of the cgroup with
// cgroupID (and of its subtree, unless an ancestor is registered).
// Removing a cgroup that is not registered is not an error.
func (d *Detector) RemoveHighCgroup(cgroupID uint64) error {
	done, err := d.use()
	if err != nil {
		return err
	}
	defer done()
	if err := d.objs.HighCgroups.Delete(cgroupID); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("remove HIGH cgroup %d: %w", cgroupID, err)
	}
	return nil
}

// Pressure is a HIGH class's pressure state. Times are CLOCK_MONOTONIC,
// as bpf_ktime_get_ns; zero means never.
type Pressure struct {
	// Active: the class is under pressure now.
	Active bool `json:"active"`
	// Until is when the current (or last) pressure ends.
	Until time.Duration `json:"until_ns"`
	// LastTrigger is when a window last crossed the threshold and
	// started or extended the pressure.
	LastTrigger time.Duration `json:"last_trigger_ns"`
	// Armed is the class's armed gate (see Detector.Arm).
	Armed bool `json:"armed"`
}

// Pressure reports class id's pressure state.
func (d *Detector) Pressure(id ClassID) (Pressure, error) {
	if err := id.valid(); err != nil {
		return Pressure{}, fmt.Errorf("pressure: %w", err)
	}
	done, err := d.use()
	if err != nil {
		return Pressure{}, err
	}
	defer done()
	var st detectorMemqosState
	var armed uint32
	if err := errors.Join(d.objs.ClassState.Lookup(uint32(id), &st), d.objs.Armed.Lookup(uint32(id), &armed)); err != nil {
		return Pressure{}, fmt.Errorf("read class %d state: %w", id, err)
	}
	now, err := Monotonic()
	if err != nil {
		return Pressure{}, err
	}
	until := time.Duration(st.UntilNs)
	return Pressure{Active: now < until, Until: until, LastTrigger: time.Duration(st.LastTriggerNs), Armed: armed != 0}, nil
}

// Monotonic returns CLOCK_MONOTONIC, the clock of Pressure and Trigger.
func Monotonic() (time.Duration, error) {
	var now unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &now); err != nil {
		return 0, fmt.Errorf("read CLOCK_MONOTONIC: %w", err)
	}
	return time.Duration(now.Nano()), nil
}

// Close stops the trigger reader (closing the Triggers channel), detaches
// the tracepoint and unloads the detector. Attachments keep the maps they
// share alive until they are closed; close them first. Close is
// idempotent: later calls return the first call's result. It waits for
// methods in progress; methods called after it return ErrClosed.
func (d *Detector) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return d.closeErr
	}
	d.closed = true
	var err error
	d.tpMu.Lock()
	if d.tp != nil {
		err = d.tp.Close()
		d.tp = nil
	}
	d.tpMu.Unlock()
	err = errors.Join(err, d.events.Close())
	<-d.done
	d.closeErr = errors.Join(err, d.objs.Close())
	return d.closeErr
}
