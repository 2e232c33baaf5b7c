package cgroup

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// PressureLine is one line of a PSI file: the share of wall time in which
// some (or all) tasks stalled, averaged over 10, 60 and 300 s, and the total
// stall time.
type PressureLine struct {
	Avg10  float64       `json:"avg10"`
	Avg60  float64       `json:"avg60"`
	Avg300 float64       `json:"avg300"`
	Total  time.Duration `json:"total"`
}

// Pressure is a PSI file such as memory.pressure.
type Pressure struct {
	Some PressureLine `json:"some"`
	Full PressureLine `json:"full"`
}

// MemoryPressure reads memory.pressure. It fails with fs.ErrNotExist on
// kernels without PSI.
func (g *Group) MemoryPressure() (Pressure, error) {
	s, err := g.ReadString("memory.pressure")
	if err != nil {
		return Pressure{}, err
	}
	p, err := ParsePressure(s)
	if err != nil {
		return Pressure{}, &FileError{Op: "parse", Path: filepath.Join(g.Path(), "memory.pressure"), Err: err}
	}
	return p, nil
}

// ParsePressure parses the content of a PSI file.
func ParsePressure(s string) (Pressure, error) {
	var p Pressure
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		var dst *PressureLine
		switch f[0] {
		case "some":
			dst = &p.Some
		case "full":
			dst = &p.Full
		default:
			return Pressure{}, fmt.Errorf("unknown PSI line %q", line)
		}
		if err := parsePressureFields(f[1:], dst); err != nil {
			return Pressure{}, fmt.Errorf("%s: %w", f[0], err)
		}
	}
	return p, nil
}

func parsePressureFields(fields []string, dst *PressureLine) error {
	for _, kv := range fields {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("field %q is not key=value", kv)
		}
		var err error
		switch k {
		case "avg10":
			dst.Avg10, err = strconv.ParseFloat(v, 64)
		case "avg60":
			dst.Avg60, err = strconv.ParseFloat(v, 64)
		case "avg300":
			dst.Avg300, err = strconv.ParseFloat(v, 64)
		case "total":
			var us uint64
			us, err = strconv.ParseUint(v, 10, 64)
			dst.Total = time.Duration(us) * time.Microsecond
		}
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}
