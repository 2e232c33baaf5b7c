package daemon

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/govern"
	"github.com/memqos/memqos/internal/policy"
)

// hooksActuator is a fake actuator that keeps the hooks each plan wanted.
type hooksActuator struct{ hooks []bool }

func (a *hooksActuator) Name() string                { return "hooks" }
func (a *hooksActuator) Add(*govern.Member) error    { return nil }
func (a *hooksActuator) Remove(*govern.Member) error { return nil }
func (a *hooksActuator) Close() error                { return nil }
func (a *hooksActuator) Apply(p policy.Plan, _ map[string]*govern.Member) error {
	a.hooks = append(a.hooks, p.Hooks)
	return nil
}

// last is what the last plan wanted.
func (a *hooksActuator) last() bool { return a.hooks[len(a.hooks)-1] }

// TestHooksNearContention: the actuators are told to put the kernel's
// hooks in place when memory under the root comes within twice the
// headroom, and to take them away once it has stayed further for
// policy.HooksLinger.
func TestHooksNearContention(t *testing.T) {
	fsys := fakeTree(t)
	addMember(t, fsys, "high/a", 100<<20)
	addMember(t, fsys, "low/b", 100<<20)
	usage := func(mib uint64) {
		writeFile(t, filepath.Join(fsys.Root, "memqos/memory.current"), itoa(mib<<20))
	}
	usage(200)
	a := &hooksActuator{}
	h := newHarnessWith(t, fsys, testConfig, false, a)
	if err := h.d.start(); err != nil {
		t.Fatal(err)
	}
	defer h.stop()
	// The root's limit is 1000 MiB and the headroom 100 MiB: near from
	// 801 MiB used.
	for _, s := range []struct {
		name  string
		after time.Duration
		mib   uint64
		want  bool
	}{
		{"far", activeTick, 200, false},
		{"far, long after", time.Hour, 800, false},
		{"near", activeTick, 850, true},
		{"contended", activeTick, 950, true},
		{"far again", activeTick, 200, true},
		{"far for the linger", policy.HooksLinger - activeTick, 200, true},
		{"far for longer", 2 * activeTick, 200, false},
	} {
		usage(s.mib)
		h.clock.t = h.clock.t.Add(s.after)
		h.d.step()
		if a.last() != s.want {
			t.Fatalf("%s: hooks %v; want %v (all plans: %v)", s.name, a.last(), s.want, a.hooks)
		}
	}
}
