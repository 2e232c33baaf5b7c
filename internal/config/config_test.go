package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/testutil"
)

const minimal = `
classes:
  - name: high
    priority: high
  - name: low
    priority: low
`

// TestRootOnOtherMount checks that a full path outside /sys/fs/cgroup is
// accepted: the daemon resolves it against its --cgroup-root.
func TestRootOnOtherMount(t *testing.T) {
	c, err := Parse([]byte("root: /mnt/cg/memqos\n" + minimal))
	if err != nil || c.Root != "/mnt/cg/memqos" {
		t.Fatalf("Parse = %v, %v", c, err)
	}
}

func TestParseDefaults(t *testing.T) {
	c, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if c.Root != "memqos" || c.Backend != BackendAuto || c.Policy != PolicyDefault || c.State != DefaultState {
		t.Errorf("root %q backend %q policy %q state %q", c.Root, c.Backend, c.Policy, c.State)
	}
	d := c.Detector
	if d.Source != SourceAuto || d.Threshold != 1000 || d.Window.D() != time.Second || d.Headroom.Percent != 10 {
		t.Errorf("detector %+v", d)
	}
	high, low := c.Class("high"), c.Class("low")
	if high.Protect != ProtectLow || len(high.Members) != 1 || high.Members[0] != "high/*" {
		t.Errorf("high %+v", high)
	}
	if low.Delay.D() != 50*time.Millisecond || low.Floor.Bytes != 128<<20 || low.Escalation.Action != ActionNone || low.Slow != "" {
		t.Errorf("low %+v", low)
	}
	if c.Metrics.Listen != "" {
		t.Errorf("metrics on by default: %q", c.Metrics.Listen)
	}
	if c.Lease.D() != 5*time.Second {
		t.Errorf("lease %v; want 5s", c.Lease)
	}
}

func TestParseReferencePreset(t *testing.T) {
	c, err := Parse([]byte("policy: reference\n" + minimal))
	if err != nil {
		t.Fatal(err)
	}
	d, low := c.Detector, c.Class("low")
	if c.Backend != BackendStructOps || d.Source != SourcePgfault || d.Threshold != 10000 || !d.Headroom.IsZero() {
		t.Errorf("backend %q detector %+v", c.Backend, d)
	}
	if low.Slow != SlowDelay || low.Delay.D() != 50*time.Millisecond || low.MemoryHigh.Bytes != 400<<20 || !low.Floor.IsZero() {
		t.Errorf("low %+v", low)
	}
	if c.Lease.D() != 5*time.Second {
		t.Errorf("lease %v; want 5s", c.Lease)
	}
	c, err = Parse([]byte("policy: reference\nlease: 3s\n" + minimal))
	if err != nil || c.Lease.D() != 3*time.Second {
		t.Errorf("lease 3s: %v, %v", c, err)
	}
}

func TestParseOverridesPreset(t *testing.T) {
	c, err := Parse([]byte("policy: reference\ndetector:\n  threshold: 5\n  headroom: 0\n" + minimal))
	if err != nil {
		t.Fatal(err)
	}
	if c.Detector.Threshold != 5 || c.Detector.Headroom.Of(1000) != 0 {
		t.Errorf("detector %+v", c.Detector)
	}
	c, err = Parse([]byte("detector:\n  headroom: 0\n" + minimal))
	if err != nil {
		t.Fatal(err)
	}
	if c.Detector.Headroom.Percent != 0 || c.Detector.Headroom.IsZero() {
		t.Errorf("headroom 0 was replaced by the preset's: %+v", c.Detector.Headroom)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"bad priority", "classes:\n  - name: a\n    priority: high\n  - name: b\n    priority: sideways\n",
			`classes[1].priority: "sideways" is not high or low (line 5)`},
		{"unknown field", "classes:\n  - name: a\n    priority: high\n    protekt: low\n",
			`classes[0].protekt: unknown field (did you mean "protect"?) (line 4)`},
		{"unknown top", "rot: x\n" + minimal, `rot: unknown field (did you mean "root"?) (line 1)`},
		{"twice", "root: a\nroot: b\n" + minimal, "root: given twice (line 2)"},
		{"no classes", "root: a\n", "classes: at least one class is needed"},
		{"missing priority", "classes:\n  - name: a\n", "classes[0].priority: missing: high or low"},
		{"bad name", "classes:\n  - name: A/b\n    priority: low\n", `classes[0].name: "A/b" is not a class name`},
		{"duplicate class", "classes:\n  - {name: a, priority: high}\n  - {name: a, priority: low}\n", `classes[1].name: "a" names two classes`},
		{"bad duration", "detector:\n  window: 1 second\n" + minimal, `detector.window: "1 second" is not a duration`},
		{"window range", "detector:\n  window: 5ms\n" + minimal, "detector.window: 5ms is outside [100ms, 1m]"},
		{"psi window", "detector:\n  source: psi\n  window: 20s\n" + minimal, "detector.window: 20s: PSI triggers need a window in [500ms, 10s]"},
		{"stall", "detector:\n  stall: 2s\n" + minimal, "detector.stall: 2s is longer than the window 1s"},
		{"bad size", "classes:\n  - {name: l, priority: low, floor: 12 parsecs}\n", `classes[0].floor: "12 parsecs" is not a size`},
		{"percent floor", "classes:\n  - {name: l, priority: low, floor: 5%}\n", "classes[0].floor: must be a size, not a percentage"},
		{"delay too long", "classes:\n  - {name: l, priority: low, delay: 3s}\n", "classes[0].delay: 3s is longer than the kernel's 2s per charge"},
		{"high slowed", "classes:\n  - {name: h, priority: high, delay: 10ms}\n", "classes[0].delay: only LOW classes are slowed"},
		{"low protected", "classes:\n  - {name: l, priority: low, protect: min}\n", "classes[0].protect: only HIGH classes are protected"},
		{"yields to low", "classes:\n  - {name: a, priority: low}\n  - {name: b, priority: low, yields_to: [a]}\n", `classes[1].yields_to[0]: "a" is not a HIGH class`},
		{"yields to nothing", "classes:\n  - {name: b, priority: low, yields_to: [zz]}\n", `classes[0].yields_to[0]: "zz" is not a HIGH class`},
		{"delay on cgroupfs", "backend: cgroupfs\nclasses:\n  - {name: l, priority: low, slow: delay}\n", "classes[0].slow: delay needs the structops backend"},
		{"both on cgroupfs", "backend: cgroupfs\nclasses:\n  - {name: l, priority: low, slow: both}\n", "classes[0].slow: both needs the structops backend"},
		{"bad backend", "backend: ebpf\n" + minimal, `backend: "ebpf" is not auto, structops or cgroupfs`},
		{"bad source", "detector:\n  source: vibes\n" + minimal, `detector.source: "vibes" is not auto, pgfault, psi or events`},
		{"bad action", "classes:\n  - name: l\n    priority: low\n    escalation: {action: nuke}\n", `classes[0].escalation.action: "nuke" is not none, freeze or kill`},
		{"kill without deadline", "policy: reference\nclasses:\n  - name: l\n    priority: low\n    escalation: {action: kill}\n", "classes[0].escalation.after: action kill needs a deadline above 0"},
		{"weight", "classes:\n  - {name: h, priority: high, cpu_weight: 20000}\n", "classes[0].cpu_weight: 20000 is outside [1, 10000]"},
		{"negative weight", "classes:\n  - {name: h, priority: high, io_weight: -1}\n", `classes[0].io_weight: "-1" is not a valid uint64`},
		{"member escapes", "classes:\n  - {name: h, priority: high, members: [../x]}\n", `classes[0].members[0]: "../x": empty, '.' and '..' elements are not allowed`},
		{"member absolute", "classes:\n  - {name: h, priority: high, members: [/x]}\n", `classes[0].members[0]: "/x": want a path or glob relative to the root`},
		{"member bad glob", "classes:\n  - {name: h, priority: high, members: [\"a/[\"]}\n", `classes[0].members[0]: "a/[": bad glob "["`},
		{"root is mount", "root: /sys/fs/cgroup\n" + minimal, "root: memqos cannot own the whole cgroup hierarchy"},
		{"root dotdot", "root: a/../b\n" + minimal, `root: "a/../b": ".." is not allowed`},
		{"root full dotdot", "root: /mnt/cg/../b\n" + minimal, `root: "/mnt/cg/../b": ".." is not allowed`},
		{"state relative", "state: state.json\n" + minimal, `state: "state.json" is not an absolute path`},
		{"lease too short", "lease: 1s\n" + minimal, "lease: 1s is outside [2s, 1m0s]: the daemon renews its lease every 500 ms or sooner, and a hung daemon keeps LOW slowed until it expires (line 1)"},
		{"lease zero", "lease: 0s\n" + minimal, "lease: 0s is outside [2s, 1m0s]"}, // not the preset's,
		{"lease negative", "lease: -5s\n" + minimal, `lease: "-5s" is negative`},
		{"lease too long", "lease: 2m\n" + minimal, "lease: 2m0s is outside [2s, 1m0s]"},
		{"lease not a duration", "lease: 5\n" + minimal, `lease: "5" is not a duration`},
		{"listen", "metrics:\n  listen: 9464\n" + minimal, `metrics.listen: "9464" is not a host:port`},
		{"classes not a list", "classes: high\n", "classes: want a list, got a value"},
		{"detector not a map", "detector: [1]\n" + minimal, "detector: want a mapping, got a list"},
		{"size is a map", "classes:\n  - {name: l, priority: low, floor: {a: 1}}\n", "classes[0].floor: want a single value, got a mapping"},
		{"alias", "x: &a 1\n", "x: unknown field"},
		{"two documents", minimal + "---\nroot: x\n", "more than one YAML document"},
		{"not yaml", "classes: [\n", "config: yaml:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestFieldErrorType(t *testing.T) {
	_, err := Parse([]byte("classes:\n  - {name: a, priority: sideways}\n"))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Path != "classes[0].priority" || fe.Line != 2 {
		t.Fatalf("got %#v", err)
	}
}

func TestSizes(t *testing.T) {
	for in, want := range map[string]uint64{
		"0": 0, "4096": 4096, "400M": 400 << 20, "400MiB": 400 << 20, "1100MB": 1100e6,
		"1.5G": 3 << 29, "2GiB": 2 << 30, "10KB": 10000, "64K": 64 << 10, "1T": 1 << 40,
	} {
		var s Size
		if err := s.parse(in); err != nil || s.Of(0) != want {
			t.Errorf("%q: %d, %v; want %d", in, s.Of(0), err, want)
		}
	}
	var s Size
	if err := s.parse("25%"); err != nil || s.Of(1000) != 250 {
		t.Errorf("25%% of 1000: %d, %v", s.Of(1000), err)
	}
	for _, bad := range []string{"", "M", "-1M", "1.2.3G", "5 furlongs", "0%", "101%", "NaN%", "1e30"} {
		if err := s.parse(bad); err == nil {
			t.Errorf("%q parsed as %+v", bad, s)
		}
	}
}

// TestExamples checks that every example in configs/ parses, and that
// Marshal writes what Parse reads back.
func TestExamples(t *testing.T) {
	testutil.Require(t, testutil.Source)
	root, err := testutil.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(root, "configs", "*.yaml"))
	if len(files) < 3 {
		t.Fatalf("want at least 3 examples in configs/, found %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			checkRoundTrip(t, c)
		})
	}
}

func TestLoadErrorNamesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(p, []byte("classes:\n  - {name: a, priority: sideways}\n"), 0o644)
	if _, err := Load(p); err == nil || !strings.HasPrefix(err.Error(), p+": classes[0].priority") {
		t.Errorf("got %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v", err)
	}
}

func checkRoundTrip(t *testing.T, c *Config) {
	t.Helper()
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Parse(out)
	if err != nil {
		t.Fatalf("marshalled config does not parse: %v\n%s", err, out)
	}
	out2, err := c2.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, out2) {
		t.Fatalf("round trip changed the config:\n%s\n---\n%s", out, out2)
	}
}

func FuzzParse(f *testing.F) {
	root, _ := testutil.RepoRoot()
	files, _ := filepath.Glob(filepath.Join(root, "configs", "*.yaml"))
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte(minimal))
	f.Add([]byte("classes:\n  - {name: a, priority: low, floor: 5%, yields_to: [a]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) && !strings.HasPrefix(err.Error(), "config: ") {
				t.Fatalf("error neither names a field nor says config: %v", err)
			}
			return
		}
		checkRoundTrip(t, c)
	})
}

func TestExcludeMonitors(t *testing.T) {
	c, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]string{
		"low/libpod-0c18919fc1b2":               "low",
		"low/conmon":                            "",
		"high/libpod-conmon-0c18919fc1b2.scope": "",
		"high/libpod-0c18919fc1b2.scope":        "high",
	} {
		got := ""
		if cl := c.ClassOf(rel); cl != nil {
			got = cl.Name
		}
		if got != want {
			t.Errorf("ClassOf(%q) = %q; want %q", rel, got, want)
		}
	}
	// An explicit empty list excludes nothing.
	c, err = Parse([]byte("exclude: []\n" + minimal))
	if err != nil {
		t.Fatal(err)
	}
	if cl := c.ClassOf("low/conmon"); cl == nil || cl.Name != "low" {
		t.Errorf("with exclude: [], low/conmon is in class %v; want low", cl)
	}
	for _, bad := range []string{"exclude: ['[']", "exclude: ['low/x']", "exclude: ['']"} {
		_, err := Parse([]byte(bad + "\n" + minimal))
		var fe *FieldError
		if !errors.As(err, &fe) || !strings.HasPrefix(fe.Path, "exclude[0]") {
			t.Errorf("%s: got %v; want a FieldError at exclude[0]", bad, err)
		}
	}
}
