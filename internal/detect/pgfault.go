package detect

import (
	"errors"
	"time"

	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/govern"
	"github.com/memqos/memqos/internal/memcgbpf"
)

// PGFault reports pressure in a HIGH class when its members' page faults
// pass detector.threshold within detector.window, counted in the kernel
// by a BPF program on the memcg:count_memcg_events tracepoint. The
// program runs on every memory event of the machine, so it is attached
// only while contention is near (Gate). It shares its Object with the
// memcg_bpf_ops actuator, whose programs read the same pressure state.
type PGFault struct {
	obj  *memcgbpf.Object
	trig chan govern.Trigger
	done chan struct{}
}

// NewPGFault follows obj's triggers. Close does not close obj: its owner
// does.
func NewPGFault(obj *memcgbpf.Object) *PGFault {
	d := &PGFault{obj: obj, trig: make(chan govern.Trigger, 64), done: make(chan struct{})}
	names := obj.Names()
	go func() {
		defer close(d.done)
		for t := range obj.Det.Triggers() {
			select {
			case d.trig <- govern.Trigger{Class: names[t.Class], At: memcgbpf.MonoToWall(t.At)}:
			default:
			}
		}
	}()
	return d
}

func (d *PGFault) Name() string { return string(config.SourcePgfault) }

// Add counts a HIGH member's faults for its class.
func (d *PGFault) Add(m *govern.Member) error {
	if !m.High() {
		return nil
	}
	return d.obj.Det.AddHighCgroup(m.ID, d.obj.ID(m.Class.Name))
}

func (d *PGFault) Remove(m *govern.Member) error {
	if !m.High() {
		return nil
	}
	return d.obj.Det.RemoveHighCgroup(m.ID)
}

// Gate attaches the tracepoint while contention is near, and arms the
// HIGH classes.
func (d *PGFault) Gate(near bool, armed map[string]bool) error {
	errs := []error{d.obj.Det.SetAttached(near)}
	for _, c := range d.obj.Classes() {
		if c.Priority == config.High {
			errs = append(errs, d.obj.Det.Arm(d.obj.ID(c.Name), armed[c.Name]))
		}
	}
	return errors.Join(errs...)
}

func (d *PGFault) LastTrigger(class string) time.Time { return d.obj.LastTrigger(class) }

func (d *PGFault) Triggers() <-chan govern.Trigger { return d.trig }

func (d *PGFault) Counters(class string) map[string]uint64 { return d.obj.Counters(class) }

// Close stops following triggers once obj is closed; it returns at once.
func (d *PGFault) Close() error { return nil }
