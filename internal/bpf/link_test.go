package bpf

import (
	"errors"
	"os"
	"testing"
	"unsafe"

	"github.com/memqos/memqos/internal/kernel"
)

// TestRawAttachRefusesWithoutKnownABI checks the refusal before any
// syscall: on a kernel without a known memcg_bpf_ops ABI, mainline would
// ignore the flags and attach the ops globally.
func TestRawAttachRefusesWithoutKnownABI(t *testing.T) {
	dir, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	for _, abi := range []kernel.ABI{kernel.ABINone, "v8"} {
		l, err := createCgroupLink(abi, -1, dir, 0)
		if err == nil {
			l.Close()
			t.Fatalf("ABI %q: attached", abi)
		}
		if !errors.Is(err, kernel.ErrNotSupported) {
			t.Errorf("ABI %q: got %v; want ErrNotSupported", abi, err)
		}
	}
}

func TestLinkCreateAttrLayout(t *testing.T) {
	// Offsets in union bpf_attr's link_create: map_fd 0, target_fd 4,
	// attach_type 8, flags 12, cgroup.relative_fd 16.
	var a linkCreateAttr
	offsets := map[string]uintptr{
		"targetFD": unsafe.Offsetof(a.targetFD), "attachType": unsafe.Offsetof(a.attachType),
		"flags": unsafe.Offsetof(a.flags), "relativeFD": unsafe.Offsetof(a.relativeFD),
	}
	want := map[string]uintptr{"targetFD": 4, "attachType": 8, "flags": 12, "relativeFD": 16}
	for k, v := range want {
		if offsets[k] != v {
			t.Errorf("%s at offset %d; want %d", k, offsets[k], v)
		}
	}
}
