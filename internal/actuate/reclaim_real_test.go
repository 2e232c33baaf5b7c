package actuate

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/govern"
	"github.com/memqos/memqos/internal/policy"
	"github.com/memqos/memqos/internal/testutil"
)

// writeKnobs is govern.Knobs without a journal: it writes.
type writeKnobs struct{ fs *cgroup.FS }

func (k writeKnobs) Set(cg, file, value, _ string) error  { return k.fs.Group(cg).Set(file, value) }
func (k writeKnobs) Do(cg, file, value, _ string) error   { return k.fs.Group(cg).Set(file, value) }
func (k writeKnobs) Restore(string, string, string) error { return nil }
func (k writeKnobs) Original(string, string) (string, bool) {
	return "", false
}

// TestRealReclaim fills a LOW member with 64 MiB of page cache on a real
// disk, then has the policy cap it: the reclaim actuator asks the kernel
// for 32 MiB first, and the member's file memory shrinks by about that.
// Asking a nearly empty member for more than it has is no error.
func TestRealReclaim(t *testing.T) {
	g := testutil.Cgroup(t)
	dir := testutil.ScratchDir(t)
	if err := g.Start(exec.Command("dd", "if=/dev/zero", "of="+filepath.Join(dir, "f"), "bs=1M", "count=64")); err != nil {
		t.Fatal(err)
	}
	if err := g.WaitEmpty(t.Context()); err != nil {
		t.Fatal(err)
	}
	before, err := g.MemoryStat()
	if err != nil {
		t.Fatal(err)
	}
	if before["file"] < 48<<20 {
		t.Fatalf("the member holds %d bytes of page cache; want about 64 MiB", before["file"])
	}
	fsys, err := cgroup.Open("")
	if err != nil {
		t.Fatal(err)
	}
	class := &config.Class{Name: "low", Priority: config.Low, ReclaimOnCap: config.Size{Bytes: 32 << 20}}
	m := &govern.Member{Path: g.Name(), Class: class, Group: g}
	a := NewReclaim(writeKnobs{fsys})
	members := map[string]*govern.Member{m.Path: m}
	cap := policy.Plan{Intents: []policy.Intent{{Kind: policy.Cap, Path: m.Path, Bytes: 1 << 30, Reason: "test"}}}
	if err := a.Apply(cap, members); err != nil {
		t.Fatal(err)
	}
	after, err := g.MemoryStat()
	if err != nil {
		t.Fatal(err)
	}
	freed := int64(before["file"]) - int64(after["file"])
	t.Logf("page cache %d -> %d bytes (%d freed) for 32 MiB asked", before["file"], after["file"], freed)
	if freed < 24<<20 {
		t.Errorf("reclaimed %d bytes of page cache; want about 32 MiB", freed)
	}
	if a.Asked["low"] != 32<<20 || a.Short["low"] != 0 {
		t.Errorf("asked %d, short %d; want 32 MiB asked, none short", a.Asked["low"], a.Short["low"])
	}
	// Other intents, and classes without reclaim_on_cap, reclaim nothing.
	other := policy.Plan{Intents: []policy.Intent{{Kind: policy.Uncap, Path: m.Path}, {Kind: policy.Protect, Path: m.Path, Bytes: 1}}}
	if err := a.Apply(other, members); err != nil || a.Asked["low"] != 32<<20 {
		t.Errorf("reclaimed for intents other than a cap: %v, asked %d", err, a.Asked["low"])
	}
	// More than the member has: the kernel says EAGAIN, which is no error.
	class.ReclaimOnCap.Bytes = 1 << 30
	if err := a.Apply(cap, members); err != nil {
		t.Fatalf("reclaiming more than a member has: %v", err)
	}
	if a.Short["low"] != 1 {
		t.Errorf("short %d; want the 1 GiB request counted as not satisfied", a.Short["low"])
	}
}
