package cgroup

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Limits of cpu.weight and io.weight, and their default.
const (
	WeightMin     = 1
	WeightMax     = 10000
	WeightDefault = 100
)

// WeightError reports a weight outside WeightMin..WeightMax.
type WeightError struct {
	Knob   string // "cpu.weight" or "io.weight"
	Weight uint64
}

func (e *WeightError) Error() string {
	return fmt.Sprintf("%s %d is outside %d..%d", e.Knob, e.Weight, WeightMin, WeightMax)
}

// SetCPUWeight writes cpu.weight: g's share of CPU time against its
// siblings, proportionally (default 100). It needs the cpu controller
// enabled by g's parent (ErrControllerNotEnabled otherwise), and write
// access to the file.
func (g *Group) SetCPUWeight(w uint64) error {
	if w < WeightMin || w > WeightMax {
		return &WeightError{Knob: CPUWeight, Weight: w}
	}
	return g.write(CPUWeight, strconv.FormatUint(w, 10))
}

// CPUWeight reads cpu.weight.
func (g *Group) CPUWeight() (uint64, error) { return g.ReadUint(CPUWeight) }

// SetIOWeight writes g's default io.weight ("default W"): its share of IO
// against its siblings on every device without a weight of its own. The
// kernel honours it only on devices where the iocost controller is enabled
// (io.cost.qos in the root group); elsewhere it is accepted and has no
// effect. It needs the io controller enabled by g's parent
// (ErrControllerNotEnabled), and a kernel with CONFIG_BLK_CGROUP_IOCOST
// (ErrNotSupported otherwise; BFQ's io.bfq.weight is not used).
func (g *Group) SetIOWeight(w uint64) error {
	if w < WeightMin || w > WeightMax {
		return &WeightError{Knob: IOWeight, Weight: w}
	}
	return g.ioWeightErr(g.write(IOWeight, "default "+strconv.FormatUint(w, 10)))
}

// IOWeight reads the default weight of io.weight, ignoring per-device
// lines.
func (g *Group) IOWeight() (uint64, error) {
	s, err := g.ReadString(IOWeight)
	if err != nil {
		return 0, g.ioWeightErr(err)
	}
	w, err := parseIOWeight(s)
	if err != nil {
		return 0, &FileError{Op: "parse", Path: filepath.Join(g.Path(), IOWeight), Err: err}
	}
	return w, nil
}

// parseIOWeight returns the weight on io.weight's "default W" line.
func parseIOWeight(s string) (uint64, error) {
	for _, line := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "default "); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("no \"default\" line in %q", s)
}

// ioWeightErr turns a missing io.weight in a group whose io controller is
// enabled into ErrNotSupported: the kernel lacks iocost.
func (g *Group) ioWeightErr(err error) error {
	var fe *FileError
	if !errors.As(err, &fe) || !errors.Is(fe.Err, unix.ENOENT) || !errors.Is(err, ErrControllerNotEnabled) {
		return err
	}
	ctrls, cerr := g.Controllers()
	if cerr != nil || !contains(ctrls, "io") {
		return err
	}
	fe.Kind = ErrNotSupported
	fe.Hint = "the io controller is enabled but the kernel has no io.weight: it needs CONFIG_BLK_CGROUP_IOCOST"
	return fe
}
