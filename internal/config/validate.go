package config

import (
	"errors"
	"fmt"
	"net"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
)

// MaxClasses is the most classes a configuration may have (the BPF maps
// are sized for it).
const MaxClasses = 63

// MaxDelay is the largest charge delay the kernel applies in one sleep.
const MaxDelay = 2 * time.Second

var className = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)

func (c *Config) validate() error {
	if err := checkRoot(c.Root); err != nil {
		return err
	}
	if !filepath.IsAbs(c.State) {
		return &FieldError{Path: "state", Msg: fmt.Sprintf("%q is not an absolute path", c.State)}
	}
	if err := checkLease(c.Lease.D()); err != nil {
		return &FieldError{Path: "lease", Msg: err.Error()}
	}
	if c.Metrics.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Metrics.Listen); err != nil {
			return &FieldError{Path: "metrics.listen", Msg: fmt.Sprintf("%q is not a host:port", c.Metrics.Listen)}
		}
	}
	for i, pat := range c.Exclude {
		if _, err := path.Match(pat, ""); err != nil || pat == "" || strings.Contains(pat, "/") {
			return &FieldError{Path: fmt.Sprintf("exclude[%d]", i), Msg: fmt.Sprintf("%q is not a glob of a cgroup name", pat)}
		}
	}
	if err := c.Detector.validate(); err != nil {
		return err
	}
	if err := c.validateClasses(); err != nil {
		return err
	}
	if c.NRI != nil {
		return c.NRI.validate(c)
	}
	return nil
}

func (c *Config) validateClasses() error {
	if len(c.Classes) == 0 {
		return &FieldError{Path: "classes", Msg: "at least one class is needed"}
	}
	if len(c.Classes) > MaxClasses {
		return &FieldError{Path: "classes", Msg: fmt.Sprintf("%d classes; at most %d", len(c.Classes), MaxClasses)}
	}
	seen := map[string]bool{}
	for i := range c.Classes {
		p := fmt.Sprintf("classes[%d]", i)
		cl := &c.Classes[i]
		if seen[cl.Name] {
			return &FieldError{Path: p + ".name", Msg: fmt.Sprintf("%q names two classes", cl.Name)}
		}
		seen[cl.Name] = true
		if err := cl.validate(p, c); err != nil {
			return err
		}
	}
	return nil
}

func (d *Detector) validate() error {
	if d.Window.D() < 100*time.Millisecond || d.Window.D() > time.Minute {
		return &FieldError{Path: "detector.window", Msg: fmt.Sprintf("%v is outside [100ms, 1m]", d.Window)}
	}
	if d.Hold.D() > 10*time.Minute {
		return &FieldError{Path: "detector.hold", Msg: fmt.Sprintf("%v is longer than 10m", d.Hold)}
	}
	if d.Stall.D() > d.Window.D() {
		return &FieldError{Path: "detector.stall", Msg: fmt.Sprintf("%v is longer than the window %v", d.Stall, d.Window)}
	}
	if d.Source == SourcePSI && (d.Window.D() < 500*time.Millisecond || d.Window.D() > 10*time.Second) {
		return &FieldError{Path: "detector.window", Msg: fmt.Sprintf("%v: PSI triggers need a window in [500ms, 10s]", d.Window)}
	}
	return nil
}

func (cl *Class) validate(p string, c *Config) error {
	if !className.MatchString(cl.Name) {
		return &FieldError{Path: p + ".name", Msg: fmt.Sprintf("%q is not a class name (lower-case letters, digits, '_', '.', '-'; at most 63)", cl.Name)}
	}
	if cl.Priority == "" {
		return &FieldError{Path: p + ".priority", Msg: "missing: " + priorities.String()}
	}
	for j, m := range cl.Members {
		if err := checkMember(fmt.Sprintf("%s.members[%d]", p, j), m); err != nil {
			return err
		}
	}
	for _, w := range []struct {
		name string
		v    uint64
	}{{"cpu_weight", cl.CPUWeight}, {"io_weight", cl.IOWeight}} {
		if w.v > 10000 {
			return &FieldError{Path: p + "." + w.name, Msg: fmt.Sprintf("%d is outside [1, 10000]", w.v)}
		}
	}
	if cl.MemoryMax.Percent > 0 {
		return &FieldError{Path: p + ".memory_max", Msg: "must be a size, not a percentage"}
	}
	if cl.Priority == High {
		return cl.validateHigh(p)
	}
	return cl.validateLow(p, c)
}

func (cl *Class) validateHigh(p string) error {
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"slow", cl.Slow != ""}, {"delay", cl.Delay != 0}, {"memory_high", !cl.MemoryHigh.IsZero()},
		{"floor", !cl.Floor.IsZero()}, {"step", !cl.Step.IsZero()}, {"reclaim_on_cap", !cl.ReclaimOnCap.IsZero()}, {"yields_to", len(cl.YieldsTo) > 0},
		{"escalation", cl.Escalation != (Escalation{})},
	} {
		if f.set {
			return &FieldError{Path: p + "." + f.name, Msg: "only LOW classes are slowed; this is a HIGH class"}
		}
	}
	return nil
}

func (cl *Class) validateLow(p string, c *Config) error {
	if cl.Protect != "" {
		return &FieldError{Path: p + ".protect", Msg: "only HIGH classes are protected; this is a LOW class"}
	}
	if cl.Delay.D() > MaxDelay {
		return &FieldError{Path: p + ".delay", Msg: fmt.Sprintf("%v is longer than the kernel's %v per charge", cl.Delay, MaxDelay)}
	}
	delays := cl.Slow == SlowDelay || cl.Slow == SlowBoth
	if delays && cl.Delay == 0 {
		return &FieldError{Path: p + ".delay", Msg: fmt.Sprintf("slow: %s needs a delay above 0", cl.Slow)}
	}
	if c.Backend == BackendCgroupFS && delays {
		return &FieldError{Path: p + ".slow", Msg: fmt.Sprintf("%s needs the structops backend (memcg_bpf_ops); the cgroupfs backend slows with memory.high", cl.Slow)}
	}
	for _, f := range []struct {
		name string
		s    Size
	}{{"floor", cl.Floor}, {"step", cl.Step}, {"memory_high", cl.MemoryHigh}, {"reclaim_on_cap", cl.ReclaimOnCap}} {
		if f.s.Percent > 0 {
			return &FieldError{Path: p + "." + f.name, Msg: "must be a size, not a percentage"}
		}
	}
	for j, h := range cl.YieldsTo {
		if y := c.Class(h); y == nil || y.Priority != High {
			return &FieldError{Path: fmt.Sprintf("%s.yields_to[%d]", p, j), Msg: fmt.Sprintf("%q is not a HIGH class", h)}
		}
	}
	if cl.Escalation.Action != ActionNone && cl.Escalation.After == 0 {
		return &FieldError{Path: p + ".escalation.after", Msg: fmt.Sprintf("action %s needs a deadline above 0", cl.Escalation.Action)}
	}
	return nil
}

// checkRoot checks root as cgroup.FS.Subtree resolves it against the
// default mount. A full path outside that mount passes: the daemon may
// run with another --cgroup-root, and resolves root against that.
func checkRoot(root string) error {
	if root == "" {
		return &FieldError{Path: "root", Msg: errEmpty.Error()}
	}
	fsys := &cgroup.FS{Root: cgroup.DefaultRoot}
	if _, err := fsys.Subtree(root); err != nil && !errors.Is(err, cgroup.ErrOutsideMount) {
		return &FieldError{Path: "root", Msg: err.Error()}
	}
	return nil
}

// checkMember accepts a relative path or glob below the root.
func checkMember(field, m string) error {
	if m == "" || strings.HasPrefix(m, "/") {
		return &FieldError{Path: field, Msg: fmt.Sprintf("%q: want a path or glob relative to the root", m)}
	}
	for _, el := range strings.Split(m, "/") {
		if el == "" || el == ".." || el == "." {
			return &FieldError{Path: field, Msg: fmt.Sprintf("%q: empty, '.' and '..' elements are not allowed", m)}
		}
		if _, err := path.Match(el, ""); err != nil {
			return &FieldError{Path: field, Msg: fmt.Sprintf("%q: bad glob %q", m, el)}
		}
	}
	return nil
}
