package cgroup

import (
	"fmt"
	"strconv"
	"strings"
)

// Knob file names besides the memory limits (memory.go).
const (
	CPUWeight      = "cpu.weight"
	IOWeight       = "io.weight"
	CgroupFreeze   = "cgroup.freeze"
	CgroupKill     = "cgroup.kill"
	MemoryReclaim  = "memory.reclaim"
	MemoryZswapMax = "memory.zswap.max"
)

// Set writes value to g's file name, such as memory.high or cpu.weight,
// in one write(2). Errors are *FileError values that say, for example,
// that the file's controller is not enabled for g.
func (g *Group) Set(name, value string) error { return g.write(name, value) }

// CheckKnob reports whether value, as read from the knob file name, is
// one the kernel prints and accepts back: a byte count or "max" for the
// memory limits and protections, a weight for cpu.weight, "default W" for
// io.weight's first line, 0 or 1 for cgroup.freeze, and anything but the
// empty string elsewhere. A value that fails it cannot be written back to
// restore the knob, so memqos never records it as an original.
func CheckKnob(name, value string) error {
	if value == "" {
		return fmt.Errorf("%s read empty", name)
	}
	switch name {
	case MemoryMax, MemoryHigh, MemoryLow, MemoryMin, MemorySwapMax, MemoryZswapMax:
		_, err := ParseLimit(value)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	case CPUWeight:
		return checkWeight(name, value)
	case IOWeight:
		w, ok := strings.CutPrefix(value, "default ")
		if !ok {
			return fmt.Errorf("io.weight %q has no default weight", value)
		}
		return checkWeight(name, w)
	case CgroupFreeze:
		if value != "0" && value != "1" {
			return fmt.Errorf("cgroup.freeze %q is neither 0 nor 1", value)
		}
	}
	return nil
}

func checkWeight(name, s string) error {
	w, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%s %q is not a weight", name, s)
	}
	if w < WeightMin || w > WeightMax {
		return &WeightError{Knob: name, Weight: w}
	}
	return nil
}
