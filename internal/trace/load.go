package trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// BuiltinPrefix marks a reference to a built-in trace in LoadRef.
const BuiltinPrefix = "builtin:"

// Parse reads a trace in either format: a JSON object with a "format"
// field is a native trace (see Decode), one with a "samples" field but no
// "format" is podman stats (see ImportPodman, which gets file). Anything
// else fails with ErrUnknownFormat.
func Parse(data []byte, file string) (*Trace, error) {
	var probe struct {
		Format  *json.RawMessage `json:"format"`
		Samples *json.RawMessage `json:"samples"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object: %w", ErrUnknownFormat, err)
	}
	switch {
	case probe.Format != nil:
		return Decode(bytes.NewReader(data))
	case probe.Samples != nil:
		return ImportPodman(bytes.NewReader(data), file)
	}
	return nil, fmt.Errorf(`%w: no "format" field (memqos trace) or "samples" field (podman stats)`, ErrUnknownFormat)
}

// Load reads the trace file at path in either format (see Parse).
func Load(path string) (*Trace, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := Parse(data, filepath.Base(path))
	if err != nil {
		return nil, fmt.Errorf("trace %s: %w", path, err)
	}
	return t, nil
}

// LoadRef loads "builtin:NAME" with Builtin and anything else with Load.
func LoadRef(ref string) (*Trace, error) {
	if name, ok := strings.CutPrefix(ref, BuiltinPrefix); ok {
		return Builtin(name)
	}
	return Load(ref)
}
