package kernel

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// btfSource names a directory holding one full vmlinux BTF per test kernel
// (DIR/NAME/vmlinux, copied from /sys/kernel/btf/vmlinux in a guest). With
// it, TestWriteBTFFixtures regenerates the small BTF fixtures in
// testdata/btf from them.
var btfSource = flag.String("btf-source", "", "directory of NAME/vmlinux BTF files to regenerate testdata/btf from")

// fixtureTypes are the types the probe reads; fixtures keep only their
// names, members and enum values.
var fixtureTypes = []string{"memcg_bpf_ops", "bpf_struct_ops_link", "vm_event_item", "bpf_link_type", "trace_event_raw_memcg_rstat_events"}

func TestWriteBTFFixtures(t *testing.T) {
	if *btfSource == "" {
		t.Skip("regenerates fixtures only with -btf-source")
	}
	dirs, err := os.ReadDir(*btfSource)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		spec, err := btf.LoadSpec(filepath.Join(*btfSource, d.Name(), "vmlinux"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := btf.NewBuilder(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range fixtureTypes {
			if typ := slimType(spec, name); typ != nil {
				if _, err := b.Add(typ); err != nil {
					t.Fatal(err)
				}
			}
		}
		raw, err := b.Marshal(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join("testdata", "btf", d.Name()+".btf")
		if err := os.WriteFile(out, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", out, len(raw))
	}
}

// slimType returns a copy of the named struct or enum whose members are
// plain 64-bit integers, or nil if spec lacks it.
func slimType(spec *btf.Spec, name string) btf.Type {
	typ, err := spec.AnyTypeByName(name)
	if err != nil {
		return nil
	}
	switch v := typ.(type) {
	case *btf.Enum:
		return &btf.Enum{Name: v.Name, Size: v.Size, Signed: v.Signed, Values: v.Values}
	case *btf.Struct:
		u64 := &btf.Int{Name: "u64", Size: 8}
		s := &btf.Struct{Name: v.Name, Size: v.Size}
		for _, m := range v.Members {
			s.Members = append(s.Members, btf.Member{Name: m.Name, Type: u64, Offset: m.Offset})
		}
		return s
	}
	return nil
}
