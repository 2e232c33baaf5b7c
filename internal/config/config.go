// Package config reads memqos daemon configuration: the cgroup subtree
// memqos owns, its priority classes and their policy, the pressure
// detector, and where metrics and state go. docs/config.md documents the
// schema; configs/ holds working examples.
//
// Parsing is strict: an unknown field, a repeated field or an invalid
// value is a *FieldError naming its path, such as
// classes[1].priority: "sideways" is not high or low. Fields left out take
// the values of the chosen policy preset (default or reference).
package config

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Config is a whole daemon configuration.
type Config struct {
	// Root is the cgroup subtree memqos owns: a path relative to the
	// cgroup v2 mount, or a full path under it. Created if missing.
	Root string `yaml:"root,omitempty"`
	// Backend is how memqos acts: structops (memcg_bpf_ops RFC kernels),
	// cgroupfs (any cgroup v2 kernel), or auto.
	Backend Backend `yaml:"backend,omitempty"`
	// Policy is the preset whose values fill the fields left out.
	Policy   PolicyName `yaml:"policy,omitempty"`
	Detector Detector   `yaml:"detector,omitempty"`
	Classes  []Class    `yaml:"classes,omitempty"`
	// Exclude are globs (path.Match) of cgroup names that are never
	// members, whatever the classes' patterns say: by default the groups
	// of container monitors (podman's conmon), which hold no workload.
	// An empty list excludes nothing.
	Exclude []string `yaml:"exclude"`
	Metrics Metrics  `yaml:"metrics,omitempty"`
	// NRI, if set, makes the daemon an NRI plugin whose members are the
	// containers of the pods it classifies (see NRI).
	NRI *NRI `yaml:"nri,omitempty"`
	// State is the file that records every knob memqos changed, with its
	// original value, before the change.
	State string `yaml:"state,omitempty"`
	// Lease is how long the kernel trusts the daemon: the daemon renews
	// it at every turn of its control loop, and once it is older than
	// this, memcg_bpf_ops stop delaying LOW and protecting HIGH (the
	// daemon is hung: stopped, deadlocked or stuck on a write). /healthz
	// fails past it too.
	Lease Lease `yaml:"lease,omitempty"`
}

// Detector says when a HIGH class is under pressure.
type Detector struct {
	// Source is pgfault (the memcg:count_memcg_events tracepoint), psi
	// (HIGH's memory.pressure), events (memory.events), or auto.
	Source Source `yaml:"source,omitempty"`
	// Threshold is, for pgfault, the page faults of a HIGH class within
	// Window above which it is under pressure.
	Threshold uint64 `yaml:"threshold,omitempty"`
	// Stall is, for psi, the memory stall of a HIGH class within Window
	// above which it is under pressure.
	Stall Duration `yaml:"stall,omitempty"`
	// Window is the detection window.
	Window Duration `yaml:"window,omitempty"`
	// Hold is how long pressure lasts after the last trigger, and how long
	// memqos waits after pressure ends before it undoes its actions.
	Hold Duration `yaml:"hold,omitempty"`
	// Headroom is the contention gate: memory is contended when the free
	// memory under the root's limit (memory.max or memory.high of the root
	// and its ancestors, else the machine's memory) is below Headroom,
	// a size or a percentage of that limit. Only while memory is contended
	// does HIGH's activity count as pressure. "0" means always contended.
	Headroom Size `yaml:"headroom,omitempty"`
	// Reserve is how much of the free memory is kept for HIGH while
	// memory is contended, out of what LOW may grow into: half the
	// headroom (half_headroom, the default), or what HIGH grew by
	// recently (high_growth).
	Reserve Reserve `yaml:"reserve,omitempty"`
}

// Class is a priority class: a set of member cgroups under the root.
type Class struct {
	Name     string   `yaml:"name,omitempty"`
	Priority Priority `yaml:"priority,omitempty"`
	// Members are paths or globs (path.Match syntax, per path element),
	// relative to the root; default NAME/*.
	Members []string `yaml:"members,omitempty"`
	// CPUWeight and IOWeight, 1 to 10000, are written to cpu.weight and
	// io.weight of every member; 0 leaves them alone.
	CPUWeight uint64 `yaml:"cpu_weight,omitempty"`
	IOWeight  uint64 `yaml:"io_weight,omitempty"`
	// MemoryMax, if set, is each member's memory.max.
	MemoryMax Size `yaml:"memory_max,omitempty"`

	// Protect (HIGH only) is how members are protected from reclaim while
	// under pressure: low (below_low, or memory.low on cgroupfs), min
	// (below_min, or memory.min), or none.
	Protect Protect `yaml:"protect,omitempty"`

	// Slow (LOW only) is how members are slowed while a HIGH class they
	// yield to is under pressure: delay (charge-time delay, structops
	// only), high (memory.high lowered toward usage), or both (structops
	// only). Left out, it is both on structops and high on cgroupfs.
	Slow Slow `yaml:"slow,omitempty"`
	// Delay (LOW only) is the largest charge delay, at most 2s.
	Delay Duration `yaml:"delay,omitempty"`
	// MemoryHigh (LOW only), if set, is a fixed memory.high for every
	// member, as the reference experiment set 400M.
	MemoryHigh Size `yaml:"memory_high,omitempty"`
	// Floor (LOW only): memory.high is never lowered below it.
	Floor Size `yaml:"floor,omitempty"`
	// Step (LOW only) bounds how far memory.high moves at a time.
	Step Size `yaml:"step,omitempty"`
	// ReclaimOnCap (LOW only), if set, is how much memory the kernel is
	// asked to reclaim from a member (memory.reclaim) each time memqos
	// caps it: its page cache goes first, so that the cap bites its
	// anonymous memory later. 0 (the default) reclaims nothing.
	ReclaimOnCap Size `yaml:"reclaim_on_cap,omitempty"`
	// YieldsTo (LOW only) names the HIGH classes whose pressure slows this
	// class; default all.
	YieldsTo []string `yaml:"yields_to,omitempty"`
	// Escalation (LOW only) bounds a throttle that makes no progress.
	Escalation Escalation `yaml:"escalation,omitempty"`
}

// Escalation is what happens to a throttled LOW member that makes no
// forward progress (no new memory charged, no CPU time used) for After.
type Escalation struct {
	After Duration `yaml:"after,omitempty"`
	// Action is none (the throttle is lifted and the event logged), freeze
	// (the member is frozen until pressure ends) or kill (cgroup.kill).
	Action Action `yaml:"action,omitempty"`
}

// Metrics is where Prometheus metrics are served.
type Metrics struct {
	// Listen is a host:port for /metrics and /healthz; "" disables them.
	Listen string `yaml:"listen,omitempty"`
}

// Parse reads a configuration from YAML, fills in the preset's values and
// validates it.
func Parse(data []byte) (*Config, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("config: more than one YAML document")
	}
	var c Config
	if err := decodeStrict(&doc, "", reflect.ValueOf(&c).Elem()); err != nil {
		return nil, err
	}
	c.applyPreset()
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Load reads and parses the configuration file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Marshal writes c as YAML that Parse reads back to the same value.
func (c *Config) Marshal() ([]byte, error) { return yaml.Marshal(c) }

// Class returns the class named name, or nil.
func (c *Config) Class(name string) *Class {
	for i := range c.Classes {
		if c.Classes[i].Name == name {
			return &c.Classes[i]
		}
	}
	return nil
}

// Excluded reports whether the last element of rel, a cgroup path
// relative to the root, matches one of the Exclude globs.
func (c *Config) Excluded(rel string) bool {
	name := path.Base(rel)
	for _, pat := range c.Exclude {
		if ok, _ := path.Match(pat, name); ok {
			return true
		}
	}
	return false
}

// ClassOf returns the class whose members include rel, a cgroup path
// relative to the root ("low/session-1"), or nil if none does or rel is
// excluded (see Exclude). The first class in the
// configuration with a matching pattern wins; a pattern matches a path
// with as many elements (path.Match, per element).
func (c *Config) ClassOf(rel string) *Class {
	if c.Excluded(rel) {
		return nil
	}
	for i := range c.Classes {
		for _, pat := range c.Classes[i].Members {
			if strings.Count(pat, "/") != strings.Count(rel, "/") {
				continue
			}
			if ok, _ := path.Match(pat, rel); ok {
				return &c.Classes[i]
			}
		}
	}
	return nil
}
