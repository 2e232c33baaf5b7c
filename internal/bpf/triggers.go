package bpf

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/cilium/ebpf/ringbuf"
)

// Trigger is one class's transition from not under pressure to under
// pressure, from the detector's ring buffer.
type Trigger struct {
	Class ClassID `json:"class"`
	// At is when the window crossed the threshold (CLOCK_MONOTONIC).
	At time.Duration `json:"at_ns"`
	// Faults is the window's count at that moment.
	Faults uint64 `json:"faults"`
}

// triggerBuffer is the capacity of the Triggers channel; events that find
// it full are dropped.
const triggerBuffer = 256

// triggerSize is sizeof(struct memqos_trigger) in c/memqos.h.
const triggerSize = 24

// Triggers returns the channel of trigger events: one per transition of a
// class into pressure (extensions of a pressure already on send none).
// Close closes it. Events that find the channel full (256 unread) are
// dropped; Counters.Triggers and Pressure stay authoritative.
func (d *Detector) Triggers() <-chan Trigger { return d.triggers }

func (d *Detector) readTriggers() {
	defer close(d.done)
	defer close(d.triggers)
	for {
		rec, err := d.events.Read()
		if errors.Is(err, ringbuf.ErrClosed) {
			return
		}
		if err != nil || len(rec.RawSample) < triggerSize {
			continue
		}
		t := decodeTrigger(rec.RawSample)
		select {
		case d.triggers <- t:
		default:
		}
	}
}

func decodeTrigger(b []byte) Trigger {
	return Trigger{
		Class:  ClassID(binary.NativeEndian.Uint32(b[0:])),
		At:     time.Duration(binary.NativeEndian.Uint64(b[8:])),
		Faults: binary.NativeEndian.Uint64(b[16:]),
	}
}
