package daemon

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/memqos/memqos/internal/cgroup"
)

const nriConfig = `
root: kubepods
detector: {hold: 500ms, headroom: 100MiB}
nri: {}
classes:
  - {name: high, priority: high, protect: low}
  - {name: low, priority: low, floor: 64MiB, step: 512MiB, cpu_weight: 50}
`

// kubeTree is a fake cgroup tree shaped as kubelet's cgroupfs driver
// makes it: kubepods with a 1000 MiB limit, and pod groups below.
func kubeTree(t *testing.T) *cgroup.FS {
	t.Helper()
	fsys := &cgroup.FS{Root: t.TempDir()}
	for rel, content := range map[string]string{
		"cgroup.controllers": "cpu io memory", "cgroup.subtree_control": "cpu io memory",
		"kubepods/cgroup.controllers": "cpu io memory", "kubepods/cgroup.subtree_control": "cpu io memory",
		"kubepods/memory.current": itoa(950 << 20), "kubepods/memory.max": "1048576000", "kubepods/memory.high": "max",
	} {
		writeFile(t, filepath.Join(fsys.Root, rel), content)
	}
	return fsys
}

func memberOwner(d *Daemon, class, cgroup string) (string, bool) {
	for _, c := range d.Status().Classes {
		for _, m := range c.Members {
			if c.Name == class && m.Cgroup == cgroup {
				return m.Owner, true
			}
		}
	}
	return "", false
}

func TestAssignedMembers(t *testing.T) {
	fsys := kubeTree(t)
	addMemberAt(t, fsys, "kubepods", "burstable/poda/c1", 500<<20)
	addMemberAt(t, fsys, "kubepods", "besteffort/podb/c2", 450<<20)
	h := newHarness(t, fsys, nriConfig, false)
	d := h.d

	// No class groups in the NRI mode: members are wherever pods are.
	for _, c := range []string{"high", "low"} {
		if _, err := os.Stat(filepath.Join(fsys.Root, "kubepods", c)); !os.IsNotExist(err) {
			t.Errorf("class group kubepods/%s made in the NRI mode (%v)", c, err)
		}
	}
	// Nothing is governed until assigned, even where a class pattern
	// would have matched.
	h.step()
	if n := len(d.members); n != 0 {
		t.Fatalf("%d members before any assignment", n)
	}
	d.Assign(Assignment{Cgroup: "/kubepods/burstable/poda/c1", Class: "high", Owner: "pod default/a container c1"})
	d.Assign(Assignment{Cgroup: "kubepods/besteffort/podb/c2", Class: "low", Owner: "pod default/b container c2"})
	d.Assign(Assignment{Cgroup: "system.slice/x", Class: "low", Owner: "pod default/x container x"})
	d.Assign(Assignment{Cgroup: "kubepods/burstable/podc/c3", Class: "low", Owner: "pod default/c container c3"})
	h.step()
	h.want("kubepods/besteffort/podb/c2/cpu.weight", "50", "the LOW container")
	h.det.fire("high")
	h.step()
	h.want("kubepods/besteffort/podb/c2/memory.high", itoa(450<<20), "LOW capped")
	h.want("kubepods/burstable/poda/c1/memory.low", itoa(500<<20), "HIGH protected")
	o1, ok1 := memberOwner(d, "high", "/kubepods/burstable/poda/c1")
	o2, ok2 := memberOwner(d, "low", "/kubepods/besteffort/podb/c2")
	if !ok1 || !ok2 || o1 != "pod default/a container c1" || o2 != "pod default/b container c2" {
		t.Errorf("status owners %q %v, %q %v; want both members with their owners", o1, ok1, o2, ok2)
	}
	if !strings.Contains(h.log.String(), `"msg":"member outside the root is not governed"`) {
		t.Error("a cgroup outside the root was not reported")
	}
	// A container whose cgroup appears after it was assigned is governed
	// when it does (the loop keeps scanning while one is missing).
	if !d.retryPending() {
		t.Error("an assigned cgroup that does not exist yet is not looked for again")
	}
	addMemberAt(t, fsys, "kubepods", "burstable/podc/c3", 10<<20)
	h.step()
	h.want("kubepods/burstable/podc/c3/cpu.weight", "50", "the late container")

	// Synchronization replaces the set: c1 stays (not applied twice), c3
	// goes and is restored.
	added := len(h.det.added)
	d.SetAssigned([]Assignment{
		{Cgroup: "kubepods/burstable/poda/c1", Class: "high", Owner: "pod default/a container c1"},
		{Cgroup: "kubepods/besteffort/podb/c2", Class: "low", Owner: "pod default/b container c2"},
	})
	h.step()
	h.want("kubepods/burstable/podc/c3/cpu.weight", "100", "the container left out of the sync restored")
	if len(h.det.added) != added {
		t.Errorf("synchronization added members again: %v", h.det.added[added:])
	}

	// Unassigning restores the member's knobs at once.
	d.Unassign("kubepods/besteffort/podb/c2")
	h.step()
	h.want("kubepods/besteffort/podb/c2/cpu.weight", "100", "the unassigned container restored")
	h.want("kubepods/besteffort/podb/c2/memory.high", "max", "the unassigned container restored")
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	h.want("kubepods/burstable/poda/c1/memory.low", "0", "after stop, HIGH's memory.low")
	if n := len(d.knobs.Entries()); n != 0 {
		t.Errorf("journal still holds %d entries", n)
	}
	for _, p := range []string{"/kubepods/burstable/poda/c1", "/kubepods/besteffort/podb/c2", "/kubepods/burstable/podc/c3"} {
		if !slices.Contains(h.det.removed, p) {
			t.Errorf("%s never released from the detector: %v", p, h.det.removed)
		}
	}
}
