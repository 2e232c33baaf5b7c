package bpf

import (
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/memqos/memqos/internal/kernel"
)

// HeldProbes is how many no-op probes HoldTracepoint attaches: with two,
// the tracepoint calls its probes through its iterator, and a third one
// coming or going changes no kernel text.
const HeldProbes = 2

// Hold keeps no-op probes on memcg:count_memcg_events; Close removes them.
type Hold struct {
	prog  *ebpf.Program
	links []link.Link
}

// HoldTracepoint attaches HeldProbes no-op raw tracepoint programs to
// memcg:count_memcg_events and keeps them there until Close.
//
// Attaching the first probe to a tracepoint, or the second, and removing
// them again, patches kernel text: the tracepoint's static key (a jump
// label) and its static call, through int3 breakpoints while the other
// CPUs run on. Once two probes are there, the Detector's program comes and
// goes (SetAttached) with no text patched. qemu's multi-threaded TCG does
// not survive that patching reliably (docs/bench.md, "The lab"), so a
// bench in such a guest holds the tracepoint before it starts.
//
// Every held probe runs on every memory event of every cgroup, returning
// at once. Needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN).
func HoldTracepoint() (*Hold, error) {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         "memqos_hold",
		Type:         ebpf.RawTracepoint,
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
		License:      "GPL",
	})
	if err != nil {
		return nil, fmt.Errorf("load the tracepoint's no-op probe: %w", err)
	}
	h := &Hold{prog: prog}
	for range HeldProbes {
		l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: "count_memcg_events", Program: prog})
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				err = fmt.Errorf("%w (the kernel has no such tracepoint): %w", err, kernel.ErrNotSupported)
			}
			return nil, errors.Join(fmt.Errorf("hold memcg:count_memcg_events: %w", err), h.Close())
		}
		h.links = append(h.links, l)
	}
	return h, nil
}

// Close detaches the probes and unloads their program.
func (h *Hold) Close() error {
	var errs []error
	for _, l := range h.links {
		errs = append(errs, l.Close())
	}
	h.links = nil
	return errors.Join(append(errs, h.prog.Close())...)
}
