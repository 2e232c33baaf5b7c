package bpf

import (
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf"
)

// Peek reads the counters and the lease of memqos's BPF programs loaded
// by another process, such as the daemon, from the kernel's side: also
// while that process is stopped or hung. For tests and debugging.
type Peek struct {
	counters, lease *ebpf.Map
}

// PeekLoaded finds the maps of the memcg_bpf_ops attached by another
// process: the counters and lease maps that the loaded programs named
// memqos_delay and memqos_below_lo(w) use. It fails when no memqos ops
// are loaded, or ops of two detectors are. It needs CAP_SYS_ADMIN.
func PeekLoaded() (*Peek, error) {
	ids := map[string]ebpf.MapID{}
	var prev ebpf.ProgramID
	for {
		id, err := ebpf.ProgramGetNextID(prev)
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("list BPF programs: %w", err)
		}
		prev = id
		if err := peekProgram(id, ids); err != nil {
			return nil, err
		}
	}
	if ids["counters"] == 0 || ids["lease"] == 0 {
		return nil, errors.New("no memqos memcg_bpf_ops loaded")
	}
	p := &Peek{}
	var err error
	if p.counters, err = ebpf.NewMapFromID(ids["counters"]); err != nil {
		return nil, fmt.Errorf("open counters map: %w", err)
	}
	if p.lease, err = ebpf.NewMapFromID(ids["lease"]); err != nil {
		p.counters.Close()
		return nil, fmt.Errorf("open lease map: %w", err)
	}
	return p, nil
}

// peekProgram adds the counters and lease maps of program id, if it is
// one of memqos's ops, to ids; two different maps of a name are an error.
func peekProgram(id ebpf.ProgramID, ids map[string]ebpf.MapID) error {
	prog, err := ebpf.NewProgramFromID(id)
	if errors.Is(err, os.ErrNotExist) {
		return nil // unloaded meanwhile
	}
	if err != nil {
		return fmt.Errorf("program %d: %w", id, err)
	}
	defer prog.Close()
	info, err := prog.Info()
	if err != nil {
		return fmt.Errorf("program %d: %w", id, err)
	}
	// The kernel keeps 15 bytes of a name.
	if info.Name != "memqos_delay" && info.Name != "memqos_below_lo" && info.Name != "memqos_below_mi" {
		return nil
	}
	mapIDs, _ := info.MapIDs()
	for _, mid := range mapIDs {
		m, err := ebpf.NewMapFromID(mid)
		if err != nil {
			continue
		}
		mi, err := m.Info()
		m.Close()
		if err != nil || (mi.Name != "counters" && mi.Name != "lease") {
			continue
		}
		if old := ids[mi.Name]; old != 0 && old != mid {
			return fmt.Errorf("memqos ops of two detectors are loaded (%s maps %d and %d)", mi.Name, old, mid)
		}
		ids[mi.Name] = mid
	}
	return nil
}

// Counters returns class id's counters, as Detector.Counters.
func (p *Peek) Counters(id ClassID) (Counters, error) {
	if err := id.valid(); err != nil {
		return Counters{}, err
	}
	var c Counters
	for i, field := range c.counterFields() {
		v, err := sumCounter(p.counters, uint32(id)*cntMax+uint32(i)+1)
		if err != nil {
			return Counters{}, fmt.Errorf("class %d: %w", id, err)
		}
		*field = v
	}
	return c, nil
}

// Lease returns the lease, as Detector.Lease.
func (p *Peek) Lease() (LeaseState, error) {
	var v detectorMemqosLease
	if err := p.lease.Lookup(uint32(0), &v); err != nil {
		return LeaseState{}, fmt.Errorf("read lease: %w", err)
	}
	now, err := Monotonic()
	if err != nil {
		return LeaseState{}, err
	}
	return leaseState(v, now), nil
}

// Close releases the maps.
func (p *Peek) Close() error { return errors.Join(p.counters.Close(), p.lease.Close()) }
