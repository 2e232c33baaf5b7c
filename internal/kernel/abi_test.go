package kernel

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf/btf"
)

func loadFixture(t *testing.T, name string) *btf.Spec {
	t.Helper()
	spec, err := btf.LoadSpec(filepath.Join("testdata", "btf", name+".btf"))
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

func TestMemcgOpsABIFromKernelBTF(t *testing.T) {
	for _, tc := range []struct {
		kernel    string
		abi       ABI
		supported bool
		pgfault   uint32
		link      bool
		tp        bool
	}{
		{"memcg-v6", ABIv6, true, 20, true, true},
		{"memcg-v7", ABIv7, true, 20, true, true},
		{"stock-7.1.5", ABINone, false, 20, true, true},
		{"debian", ABINone, false, 23, true, false},
	} {
		t.Run(tc.kernel, func(t *testing.T) {
			spec := loadFixture(t, tc.kernel)
			abi, err := MemcgOpsABI(spec)
			if abi != tc.abi {
				t.Errorf("ABI %q; want %q", abi, tc.abi)
			}
			if tc.supported != (err == nil) {
				t.Errorf("error %v; want supported=%v", err, tc.supported)
			}
			if !tc.supported && !errors.Is(err, ErrNotSupported) {
				t.Errorf("error %v does not wrap ErrNotSupported", err)
			}
			item, err := PGFaultItem(spec)
			if err != nil || item != tc.pgfault {
				t.Errorf("PGFAULT = %d, %v; want %d", item, err, tc.pgfault)
			}
			if got := HasStructOpsLink(spec); got != tc.link {
				t.Errorf("HasStructOpsLink = %v; want %v", got, tc.link)
			}
			if got := HasCountMemcgEvents(spec); got != tc.tp {
				t.Errorf("HasCountMemcgEvents = %v; want %v", got, tc.tp)
			}
		})
	}
}

// specWith builds BTF holding struct memcg_bpf_ops and struct
// bpf_struct_ops_link with the given members.
func specWith(t *testing.T, ops, link []string) *btf.Spec {
	t.Helper()
	u64 := &btf.Int{Name: "u64", Size: 8}
	mk := func(name string, members []string) *btf.Struct {
		s := &btf.Struct{Name: name, Size: uint32(8 * len(members))}
		for i, m := range members {
			s.Members = append(s.Members, btf.Member{Name: m, Type: u64, Offset: btf.Bits(64 * i)})
		}
		return s
	}
	b, err := btf.NewBuilder([]btf.Type{mk("memcg_bpf_ops", ops), mk("bpf_struct_ops_link", link)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := b.Spec()
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

func TestMemcgOpsABINeverGuesses(t *testing.T) {
	for name, tc := range map[string]struct{ ops, link []string }{
		"both delay hooks":          {[]string{"below_low", "get_high_delay_ms", "memcg_charged"}, []string{"map", "cgroup"}},
		"no delay hook":             {[]string{"below_low", "below_min"}, []string{"map", "cgroup"}},
		"v7 ops, v6 link":           {[]string{"below_low", "memcg_charged"}, []string{"map", "cgroup_id"}},
		"v6 ops, v7 link":           {[]string{"below_low", "get_high_delay_ms"}, []string{"map", "cgroup"}},
		"v6 ops, no cgroup in link": {[]string{"get_high_delay_ms"}, []string{"map"}},
	} {
		t.Run(name, func(t *testing.T) {
			abi, err := MemcgOpsABI(specWith(t, tc.ops, tc.link))
			var ae *ABIError
			if abi != ABINone || !errors.As(err, &ae) {
				t.Fatalf("got %q, %v; want an ABIError", abi, err)
			}
		})
	}
}
