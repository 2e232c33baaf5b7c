package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memqos/memqos/internal/testutil"
)

// enums are the string enums of the configuration, by the field whose
// row in docs/config.md describes their values.
var enums = map[string][]string{
	"backend":           strs(backends),
	"policy":            strs(policyNames),
	"source":            strs(sources),
	"reserve":           strs(reserves),
	"priority":          strs(priorities),
	"protect":           strs(protections),
	"slow":              strs(slows),
	"escalation.action": strs(actions),
}

func strs[T ~string](w words[T]) []string {
	out := make([]string, len(w))
	for i, v := range w {
		out[i] = string(v)
	}
	return out
}

// TestEnumErrors checks that each enum accepts its values and names them
// all when it refuses one.
func TestEnumErrors(t *testing.T) {
	var p Priority
	if err := p.parse("high"); err != nil || p != High {
		t.Errorf("parse high: %q, %v", p, err)
	}
	if err := p.parse("sideways"); err == nil || err.Error() != `"sideways" is not high or low` {
		t.Errorf("parse sideways: %v", err)
	}
	var s Source
	if err := s.parse("vibes"); err == nil || err.Error() != `"vibes" is not auto, pgfault, psi or events` {
		t.Errorf("parse vibes: %v", err)
	}
}

// TestPresetsMatchPolicyNames checks that every policy name has a preset
// and every preset a name.
func TestPresetsMatchPolicyNames(t *testing.T) {
	for _, n := range policyNames {
		if _, ok := presets[n]; !ok {
			t.Errorf("policy %q has no preset", n)
		}
	}
	if len(presets) != len(policyNames) {
		t.Errorf("%d presets for %d policy names", len(presets), len(policyNames))
	}
}

// TestEnumsDocumented checks that docs/config.md's row of each enum field
// names every value the enum takes.
func TestEnumsDocumented(t *testing.T) {
	testutil.Require(t, testutil.Source)
	root, err := testutil.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "docs", "config.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "| `"); ok {
			field, _, _ := strings.Cut(rest, "`")
			if _, seen := rows[field]; !seen {
				rows[field] = line
			}
		}
	}
	for field, values := range enums {
		row, ok := rows[field]
		if !ok {
			t.Errorf("docs/config.md has no row for %s", field)
			continue
		}
		for _, v := range values {
			if !strings.Contains(row, "`"+v+"`") {
				t.Errorf("docs/config.md's row for %s does not name `%s`", field, v)
			}
		}
	}
}
