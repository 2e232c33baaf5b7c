package cgroup_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/memqos/memqos/internal/cgroup"
)

func TestWeightsOnFakeTree(t *testing.T) {
	fsys := fakeFS(t, map[string]string{
		"g/cpu.weight":         "100\n",
		"g/io.weight":          "default 100\n8:0 300\n",
		"g/cgroup.controllers": "cpu io memory\n",
	})
	g := fsys.Group("g")
	if err := g.SetCPUWeight(250); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(fsys.Root, "g/cpu.weight")); string(b) != "250" {
		t.Errorf("cpu.weight holds %q; want 250", b)
	}
	if w, err := g.CPUWeight(); err != nil || w != 250 {
		t.Errorf("CPUWeight = %d, %v; want 250", w, err)
	}
	if w, err := g.IOWeight(); err != nil || w != 100 {
		t.Errorf("IOWeight = %d, %v; want the default line's 100, not the device's", w, err)
	}
	if err := g.SetIOWeight(40); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(fsys.Root, "g/io.weight")); string(b) != "default 40" {
		t.Errorf("io.weight holds %q; want %q", b, "default 40")
	}
	if w, err := g.IOWeight(); err != nil || w != 40 {
		t.Errorf("IOWeight = %d, %v; want 40", w, err)
	}
}

func TestWeightOutOfRange(t *testing.T) {
	fsys := fakeFS(t, map[string]string{"g/cpu.weight": "100\n", "g/io.weight": "default 100\n"})
	g := fsys.Group("g")
	for _, tc := range []struct {
		name string
		set  func(uint64) error
		w    uint64
	}{
		{"cpu.weight", g.SetCPUWeight, 0},
		{"cpu.weight", g.SetCPUWeight, 10001},
		{"io.weight", g.SetIOWeight, 0},
		{"io.weight", g.SetIOWeight, 20000},
	} {
		err := tc.set(tc.w)
		var we *cgroup.WeightError
		if !errors.As(err, &we) || we.Knob != tc.name || we.Weight != tc.w {
			t.Errorf("%s %d: got %v; want a WeightError", tc.name, tc.w, err)
		}
	}
	if w, _ := g.CPUWeight(); w != 100 {
		t.Errorf("an invalid weight changed cpu.weight to %d", w)
	}
}

func TestWeightControllerMissing(t *testing.T) {
	fsys := fakeFS(t, map[string]string{
		"off/cgroup.controllers":      "memory\n",
		"noiocost/cgroup.controllers": "cpu io memory\n",
		"bad/io.weight":               "8:0 100\n",
	})
	if err := fsys.Group("off").SetCPUWeight(50); !errors.Is(err, cgroup.ErrControllerNotEnabled) {
		t.Errorf("cpu.weight without cpu: %v; want ErrControllerNotEnabled", err)
	}
	if _, err := fsys.Group("off").IOWeight(); !errors.Is(err, cgroup.ErrControllerNotEnabled) {
		t.Errorf("io.weight without io: %v; want ErrControllerNotEnabled", err)
	}
	err := fsys.Group("noiocost").SetIOWeight(50)
	if !errors.Is(err, cgroup.ErrNotSupported) || errors.Is(err, cgroup.ErrControllerNotEnabled) {
		t.Errorf("io.weight missing with io enabled: %v; want ErrNotSupported only", err)
	}
	var fe *cgroup.FileError
	if _, err := fsys.Group("bad").IOWeight(); !errors.As(err, &fe) || fe.Op != "parse" {
		t.Errorf("io.weight without a default line: %v; want a parse FileError", err)
	}
}
