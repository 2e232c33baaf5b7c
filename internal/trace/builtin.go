package trace

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// defaults holds the built-in traces, in the podman stats format as
// recorded; defaults/README.md says where they come from.
//
//go:embed defaults/*.json
var defaults embed.FS

// BuiltinNames returns the names of the built-in traces, sorted.
func BuiltinNames() []string {
	files, _ := fs.Glob(defaults, "defaults/*.json") // the pattern is valid
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, strings.TrimSuffix(path.Base(f), ".json"))
	}
	slices.Sort(names)
	return names
}

// Builtin returns the built-in trace name, one of BuiltinNames. It fails
// with ErrUnknownBuiltin for any other name.
func Builtin(name string) (*Trace, error) {
	names := BuiltinNames()
	if !slices.Contains(names, name) {
		return nil, fmt.Errorf("%w %q (have: %s)", ErrUnknownBuiltin, name, strings.Join(names, ", "))
	}
	data, err := defaults.ReadFile("defaults/" + name + ".json")
	if err != nil {
		return nil, fmt.Errorf("builtin trace %s: %w", name, err)
	}
	t, err := Parse(data, name+".json")
	if err != nil {
		return nil, fmt.Errorf("builtin trace %s: %w", name, err)
	}
	return t, nil
}
