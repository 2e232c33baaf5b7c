package daemon

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/memqos/memqos/internal/testutil"
)

// TestDependenciesPointOneWay holds the architecture's rules
// (docs/architecture.md): the policy imports only the configuration, and
// no package above the daemon names a detector or an actuator.
func TestDependenciesPointOneWay(t *testing.T) {
	testutil.Require(t, testutil.Source)
	root, err := testutil.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	const mod = "github.com/memqos/memqos/"
	plugins := []string{"internal/actuate", "internal/detect", "internal/memcgbpf", "internal/govern"}
	for _, tc := range []struct {
		dir     string
		allowed func(imp string) bool
	}{
		{"internal/policy", func(imp string) bool { return imp == "internal/config" }},
		{"internal/cli", func(imp string) bool { return !slices.Contains(plugins, imp) }},
		{"internal/bench", func(imp string) bool { return !slices.Contains(plugins, imp) }},
		{"internal/nri", func(imp string) bool { return !slices.Contains(plugins, imp) }},
		{"cmd/memqos", func(imp string) bool { return !slices.Contains(plugins, imp) }},
	} {
		files, err := filepath.Glob(filepath.Join(root, tc.dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no Go files (%v)", tc.dir, err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, is := range parsed.Imports {
				imp, _ := strconv.Unquote(is.Path.Value)
				if rel, ok := strings.CutPrefix(imp, mod); ok && !tc.allowed(rel) {
					t.Errorf("%s imports %s", strings.TrimPrefix(f, root+"/"), rel)
				}
			}
		}
	}
}
