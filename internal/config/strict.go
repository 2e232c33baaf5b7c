package config

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FieldError is an invalid or unknown field, named by its path in the
// document, such as classes[1].priority.
type FieldError struct {
	Path string
	Line int // 1-based line in the document; 0 if unknown
	Msg  string
}

func (e *FieldError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s: %s (line %d)", e.Path, e.Msg, e.Line)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Msg)
}

// scalar is implemented by the config's own value types; parse sets the
// value from a YAML scalar or says, in a few words, why it cannot.
type scalar interface {
	parse(s string) error
}

// decodeStrict decodes n into the struct that dst points to. Unlike
// yaml.Node.Decode, it rejects unknown and repeated fields and names the
// path of every error.
func decodeStrict(n *yaml.Node, path string, dst reflect.Value) error {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		return decodeStrict(n.Content[0], path, dst)
	}
	if n.Kind == yaml.AliasNode {
		return &FieldError{Path: path, Line: n.Line, Msg: "aliases are not supported"}
	}
	if s, ok := dst.Addr().Interface().(scalar); ok {
		return decodeScalar(n, path, s)
	}
	switch dst.Kind() {
	case reflect.Struct:
		return decodeStruct(n, path, dst)
	case reflect.Slice:
		return decodeSlice(n, path, dst)
	case reflect.Pointer:
		if isNull(n) {
			return nil
		}
		v := reflect.New(dst.Type().Elem())
		if err := decodeStrict(n, path, v.Elem()); err != nil {
			return err
		}
		dst.Set(v)
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return &FieldError{Path: path, Line: n.Line, Msg: fmt.Sprintf("want a %s, got a %s", dst.Kind(), kindName(n))}
	}
	if err := n.Decode(dst.Addr().Interface()); err != nil {
		return &FieldError{Path: path, Line: n.Line, Msg: fmt.Sprintf("%q is not a valid %s", n.Value, dst.Kind())}
	}
	return nil
}

func decodeScalar(n *yaml.Node, path string, s scalar) error {
	if n.Kind != yaml.ScalarNode {
		return &FieldError{Path: path, Line: n.Line, Msg: "want a single value, got a " + kindName(n)}
	}
	if err := s.parse(n.Value); err != nil {
		return &FieldError{Path: path, Line: n.Line, Msg: err.Error()}
	}
	return nil
}

func decodeStruct(n *yaml.Node, path string, dst reflect.Value) error {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return &FieldError{Path: path, Line: n.Line, Msg: "want a mapping, got a " + kindName(n)}
	}
	fields := yamlFields(dst.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := join(path, k.Value)
		idx, ok := fields[k.Value]
		if !ok {
			return &FieldError{Path: p, Line: k.Line, Msg: "unknown field" + suggest(k.Value, fields)}
		}
		if seen[k.Value] {
			return &FieldError{Path: p, Line: k.Line, Msg: "given twice"}
		}
		seen[k.Value] = true
		if err := decodeStrict(v, p, dst.Field(idx)); err != nil {
			return err
		}
	}
	return nil
}

func decodeSlice(n *yaml.Node, path string, dst reflect.Value) error {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return &FieldError{Path: path, Line: n.Line, Msg: "want a list, got a " + kindName(n)}
	}
	s := reflect.MakeSlice(dst.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		if err := decodeStrict(item, fmt.Sprintf("%s[%d]", path, i), s.Index(i)); err != nil {
			return err
		}
	}
	dst.Set(s)
	return nil
}

// yamlFields maps each yaml tag of t to its field index.
func yamlFields(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			m[name] = i
		}
	}
	return m
}

// suggest names a known field close to an unknown one.
func suggest(name string, fields map[string]int) string {
	best, bestD := "", 3
	for f := range fields {
		if d := editDistance(name, f); d < bestD || (d == bestD && f < best) {
			best, bestD = f, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "value"
}
