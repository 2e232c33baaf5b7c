package actuate

import (
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/bpf"
	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/govern"
	"github.com/memqos/memqos/internal/memcgbpf"
	"github.com/memqos/memqos/internal/policy"
	"github.com/memqos/memqos/internal/testutil"
)

// TestRealStructOpsHooksNearContention: members' ops are loaded when they
// are added and attached only while the plan wants the hooks; a lifted
// member stays detached; Close leaves no link. LOW's delay hook runs
// exactly while its ops are attached.
func TestRealStructOpsHooksNearContention(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2, testutil.BPF, testutil.MemcgOps)
	cfg, err := config.Parse([]byte("backend: structops\nclasses:\n  - {name: high, priority: high}\n  - {name: low, priority: low}\n"))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := memcgbpf.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	a, err := NewStructOps(obj, config.DefaultLease)
	if err != nil {
		t.Fatal(err)
	}
	parent := testutil.ParentCgroup(t)
	members := map[string]*govern.Member{}
	for _, c := range cfg.Classes {
		g, err := (&cgroup.FS{Root: cgroup.DefaultRoot}).Create(parent.Name() + "/" + c.Name)
		if err != nil {
			t.Fatal(err)
		}
		m := &govern.Member{Path: g.Name(), Class: cfg.Class(c.Name), Group: g}
		if err := a.Add(m); err != nil {
			t.Fatal(err)
		}
		members[c.Name] = m
	}
	byPath := map[string]*govern.Member{}
	for _, m := range members {
		byPath[m.Path] = m
	}
	low := members["low"]
	step := func(name string, p policy.Plan, attached int, hookRuns bool) {
		t.Helper()
		if err := a.Heartbeat(); err != nil {
			t.Fatal(err)
		}
		if err := a.Apply(p, byPath); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if a.Attached() != attached {
			t.Errorf("%s: %d members attached; want %d", name, a.Attached(), attached)
		}
		ls := kernelLinks(t, attached)
		if len(ls) != attached {
			t.Errorf("%s: the kernel has memqos links %+v; want %d", name, ls, attached)
		}
		before := obj.Counters("low")["delay_calls"]
		touch(t, low.Group, 16)
		if calls := obj.Counters("low")["delay_calls"] - before; (calls > 0) != hookRuns {
			t.Errorf("%s: LOW's delay hook ran %d times touching 16 MiB; want it to run: %v", name, calls, hookRuns)
		}
	}
	step("added, far from contention", policy.Plan{}, 0, false)
	step("near", policy.Plan{Near: true, Hooks: true}, 2, true)
	step("LOW lifted", policy.Plan{Near: true, Hooks: true, Intents: []policy.Intent{{Kind: policy.Lift, Path: low.Path}}}, 1, false)
	step("far, linger over", policy.Plan{}, 0, false)
	step("LOW unlifted, far", policy.Plan{Intents: []policy.Intent{{Kind: policy.Unlift, Path: low.Path}}}, 0, false)
	step("near again", policy.Plan{Near: true, Hooks: true}, 2, true)
	if err := a.Remove(members["high"]); err != nil {
		t.Fatal(err)
	}
	if a.Attached() != 1 {
		t.Errorf("after removing HIGH: %d attached; want 1", a.Attached())
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if ls := kernelLinks(t, 0); len(ls) != 0 {
		t.Errorf("links after Close: %+v", ls)
	}
}

// kernelLinks returns the kernel's memqos memcg_bpf_ops links, waiting a
// moment for detached ones to go (the kernel frees links after an RCU
// grace period) when there are more than want.
func kernelLinks(t *testing.T, want int) []bpf.LinkInfo {
	t.Helper()
	var ls []bpf.LinkInfo
	for range 50 {
		var err error
		if ls, err = bpf.StructOpsLinks(); err != nil {
			t.Fatal(err)
		}
		if len(ls) <= want {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return ls
}

// touch has a process in g allocate and touch mb MiB of anonymous memory
// (dd's buffer), and waits for it.
func touch(t *testing.T, g *cgroup.Group, mb int) {
	t.Helper()
	cmd := exec.Command("dd", "if=/dev/zero", "of=/dev/null", "bs="+strconv.Itoa(mb)+"M", "count=2")
	if err := g.Start(cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("dd in %s: %v", g.Name(), err)
	}
}
