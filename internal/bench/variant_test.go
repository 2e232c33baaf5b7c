package bench

import (
	"strings"
	"testing"

	"github.com/memqos/memqos/internal/config"
)

const variantYAML = `backend: cgroupfs
detector:
  headroom: 5%
classes:
  - {name: high, priority: high}
  - {name: low, priority: low, floor: 64MiB}
`

func TestParseVariant(t *testing.T) {
	v, err := ParseVariant("cgroupfs-h5", []byte(variantYAML))
	if err != nil {
		t.Fatal(err)
	}
	text, err := v.daemonConfig("/sys/fs/cgroup/b/r1-cgroupfs-h5", "/out/state.json")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(text))
	if err != nil {
		t.Fatalf("%v:\n%s", err, text)
	}
	if cfg.Root != "/sys/fs/cgroup/b/r1-cgroupfs-h5" || cfg.State != "/out/state.json" || cfg.Class("low").Floor.Bytes != 64<<20 {
		t.Errorf("config root %q state %q low floor %d:\n%s", cfg.Root, cfg.State, cfg.Class("low").Floor.Bytes, text)
	}
}

func TestParseVariantErrors(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"Bad Name", variantYAML, "lower-case"},
		{"structops", variantYAML, "taken"},
		{"solo-high", variantYAML, "taken"},
		{"v", "classes: [{name: high, priority: high}]\n", `want a class "low"`},
		{"v", "classes: [{name: high, priority: low}, {name: low, priority: low}]\n", `want a class "high" of priority high`},
		{"v", variantYAML + "  - {name: other, priority: low}\n", "exactly the classes"},
		{"v", "classes: [\n", "variant v"},
		{"v", variantYAML + "unknown_field: 1\n", "unknown_field"},
	}
	for _, tt := range tests {
		_, err := ParseVariant(tt.name, []byte(tt.text))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseVariant(%q, %q) = %v, want an error with %q", tt.name, tt.text, err, tt.want)
		}
	}
}
