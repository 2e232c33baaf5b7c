package daemon

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf/link"
	"github.com/memqos/memqos/internal/bpf"
	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/testutil"
)

// TestRealDryRun runs memqos daemon --dry-run on a contended tree whose
// groups already have the memory and cpu controllers enabled, as a
// previous run or podman leaves them, while HIGH faults and stalls. The
// daemon must log the decisions a live one would take, and change
// nothing: no knob, no group, and no BPF link in the kernel (listed with
// the kernel's own link iteration), on any backend.
func TestRealDryRun(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2, testutil.BPF)
	s := newScenario(t, "auto", "auto")
	for _, c := range []string{"high", "low"} {
		g, err := s.fsys.Create(s.parent.Child(c).Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, ctrl := range []string{"memory", "cpu"} {
			for _, p := range []*cgroup.Group{s.parent, g} {
				if err := p.EnableControllers(ctrl); err != nil {
					t.Fatalf("enable %s in %s: %v", ctrl, p.Path(), err)
				}
			}
		}
	}
	high, low := s.load(t)
	groups := []*cgroup.Group{s.parent, s.parent.Child("high"), s.parent.Child("low"), high, low}
	before := treeKnobs(t, groups)
	linksBefore := kernelLinks(t)

	cfgPath := filepath.Join(t.TempDir(), "memqos.yaml")
	if err := os.WriteFile(cfgPath, []byte(s.config), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd := exec.Command(testutil.Memqos(t), "daemon", "--dry-run", "--config", cfgPath)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("daemon log:\n%s", stderr.String())
		}
	}()
	// The decisions of a live run under pressure, logged: LOW's cap and
	// its class's CPU weight, and on memcg_bpf_ops the attachment and the
	// charge delay that its stand-in would have made.
	capped := `"cgroup":"` + low.Name() + `","file":"memory.high"`
	waitWithin(t, 2*time.Minute, "LOW's cap logged", func() bool { return strings.Contains(stderr.String(), capped) })
	want := []string{`"cgroup":"` + low.Name() + `","file":"cpu.weight","value":"50"`}
	if testutil.Promised(testutil.MemcgOps) {
		want = append(want, `"action":"delay","actuator":"structops","class":"low"`, `"action":"attach","actuator":"structops","cgroup":"`+low.Name()+`"`)
	}
	defer func() {
		for _, w := range want {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("the dry run did not log %s", w)
			}
		}
	}()
	// While it governs, in a dry run: no link, and no knob changed.
	during := kernelLinks(t)
	if !maps.Equal(linksBefore, during) {
		t.Errorf("BPF links while the dry run governs: %v; before it: %v", during, linksBefore)
	}
	if now := treeKnobs(t, groups); !maps.Equal(before, now) {
		t.Errorf("a dry run changed knobs:\n%s", knobDiff(before, now))
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("daemon ended with %v; want exit 0", err)
	}
	if strings.Contains(stderr.String(), `"dry_run":false`) {
		t.Error("a decision of the dry run is logged as carried out")
	}
	if now := treeKnobs(t, groups); !maps.Equal(before, now) {
		t.Errorf("after the dry run, knobs changed:\n%s", knobDiff(before, now))
	}
	if !strings.Contains(stderr.String(), "dry run: detector") && testutil.Promised(testutil.Tracepoint) {
		t.Error("the dry run did not say which detector it used instead of the BPF one")
	}
}

// treeKnobs reads every knob memqos may change, of each group.
func treeKnobs(t *testing.T, groups []*cgroup.Group) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, g := range groups {
		for _, f := range []string{"memory.high", "memory.low", "memory.min", "memory.max", "cpu.weight", "cgroup.freeze", "cgroup.subtree_control"} {
			v, err := g.ReadString(f)
			if err != nil {
				v = "(" + err.Error() + ")"
			}
			out[filepath.Join(g.Name(), f)] = v
		}
	}
	return out
}

func knobDiff(before, after map[string]string) string {
	var b strings.Builder
	for k, v := range after {
		if before[k] != v {
			b.WriteString(k + ": " + before[k] + " -> " + v + "\n")
		}
	}
	return b.String()
}

// kernelLinks returns the count of BPF links in the kernel by type.
func kernelLinks(t *testing.T) map[string]int {
	t.Helper()
	ls, err := bpf.KernelLinks()
	if err != nil {
		t.Fatal(err)
	}
	names := map[link.Type]string{link.RawTracepointType: "raw_tracepoint", link.TracingType: "tracing", link.StructOpsType: "struct_ops"}
	out := map[string]int{}
	for _, l := range ls {
		name, ok := names[l.Type]
		if !ok {
			name = fmt.Sprintf("type %d", l.Type)
		}
		out[name]++
	}
	return out
}
