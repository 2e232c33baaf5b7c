package bench

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/memqos/memqos/internal/config"
	"go.yaml.in/yaml/v3"
)

// Variant is a daemon configuration measured as an arm of its own, beside
// the strategies and in the same runs: a policy change earns its place in
// a paired comparison with the default policy and the reference. Its
// configuration is a memqos daemon configuration whose classes are named
// high and low, as the bench lays the sessions out; the bench sets root
// and state for each arm.
type Variant struct {
	Name   string `json:"name"`
	Config string `json:"config"`
}

var variantName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// ParseVariant checks a variant: a name that no strategy or baseline has,
// and a configuration that the daemon accepts once root and state are
// set, with a HIGH class high and a LOW class low.
func ParseVariant(name string, text []byte) (Variant, error) {
	v := Variant{Name: name, Config: string(text)}
	switch {
	case !variantName.MatchString(name):
		return v, fmt.Errorf("variant name %q: want lower-case letters, digits and dashes", name)
	case slices.Contains(Strategies, Strategy(name)) || name == SoloHigh || name == SoloLow:
		return v, fmt.Errorf("variant name %q is taken by a strategy or a baseline", name)
	}
	// The text as given, so that an error names its lines; then as an
	// arm runs it.
	cfg, err := config.Parse(text)
	if err == nil {
		_, err = v.config("/sys/fs/cgroup/memqos-bench/variant", "/run/memqos-bench/state.json")
	}
	if err != nil {
		return v, fmt.Errorf("variant %s: %w", name, err)
	}
	for class, want := range map[string]config.Priority{"high": config.High, "low": config.Low} {
		if c := cfg.Class(class); c == nil || c.Priority != want {
			return v, fmt.Errorf("variant %s: the bench's sessions are in classes high and low: want a class %q of priority %s", name, class, want)
		}
	}
	if len(cfg.Classes) != 2 {
		return v, fmt.Errorf("variant %s: want exactly the classes high and low, not %d classes", name, len(cfg.Classes))
	}
	return v, nil
}

// daemonConfig is the variant's configuration text with the arm's root
// and state.
func (v Variant) daemonConfig(root, state string) (string, error) {
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(v.Config), &doc); err != nil {
		return "", fmt.Errorf("variant %s: %w", v.Name, err)
	}
	if doc == nil {
		doc = map[string]any{}
	}
	doc["root"], doc["state"] = root, state
	b, err := yaml.Marshal(doc)
	return string(b), err
}

func (v Variant) config(root, state string) (*config.Config, error) {
	text, err := v.daemonConfig(root, state)
	if err != nil {
		return nil, err
	}
	return config.Parse([]byte(text))
}
