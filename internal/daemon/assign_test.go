package daemon

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
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

func newNRIDaemon(t *testing.T, fsys *cgroup.FS, be backend, state string) (*Daemon, *syncBuffer) {
	t.Helper()
	cfg, err := config.Parse([]byte(nriConfig + "state: " + state + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	d, err := New(Options{Config: cfg, FS: fsys, Backend: use(be), Machine: 4 << 30,
		Logger: slog.New(slog.NewJSONHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return d, &log
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
	be := newFake()
	d, log := newNRIDaemon(t, fsys, be, filepath.Join(t.TempDir(), "state.json"))
	stop := start(d)
	defer func() {
		if stop != nil {
			stop()
		}
	}()

	// No class groups in the NRI mode: members are wherever pods are.
	for _, c := range []string{"high", "low"} {
		if _, err := os.Stat(filepath.Join(fsys.Root, "kubepods", c)); !os.IsNotExist(err) {
			t.Errorf("class group kubepods/%s made in the NRI mode (%v)", c, err)
		}
	}
	// Nothing is governed until assigned, even where a class pattern
	// would have matched.
	d.Assign(Assignment{Cgroup: "/kubepods/burstable/poda/c1", Class: "high", Owner: "pod default/a container c1"})
	d.Assign(Assignment{Cgroup: "kubepods/besteffort/podb/c2", Class: "low", Owner: "pod default/b container c2"})
	d.Assign(Assignment{Cgroup: "system.slice/x", Class: "low", Owner: "pod default/x container x"})
	d.Assign(Assignment{Cgroup: "kubepods/burstable/podc/c3", Class: "low", Owner: "pod default/c container c3"})
	defer func() {
		if t.Failed() {
			t.Log(log.String())
		}
	}()
	waitFor(t, "the LOW container's cpu.weight", func() bool { return read(t, fsys, "kubepods/besteffort/podb/c2/cpu.weight") == "50" })
	be.fire("high")
	waitFor(t, "LOW capped and HIGH protected", func() bool {
		return read(t, fsys, "kubepods/besteffort/podb/c2/memory.high") == itoa(450<<20) &&
			read(t, fsys, "kubepods/burstable/poda/c1/memory.low") == itoa(500<<20)
	})
	waitFor(t, "the status to show both members with their owners", func() bool {
		o1, ok1 := memberOwner(d, "high", "/kubepods/burstable/poda/c1")
		o2, ok2 := memberOwner(d, "low", "/kubepods/besteffort/podb/c2")
		return ok1 && ok2 && o1 == "pod default/a container c1" && o2 == "pod default/b container c2"
	})
	if !strings.Contains(log.String(), `"msg":"member outside the root is not governed"`) {
		t.Error("a cgroup outside the root was not reported")
	}
	// A container whose cgroup appears after it was assigned is governed
	// when it does (the loop keeps scanning while one is missing).
	addMemberAt(t, fsys, "kubepods", "burstable/podc/c3", 10<<20)
	waitFor(t, "the late container's cpu.weight", func() bool { return read(t, fsys, "kubepods/burstable/podc/c3/cpu.weight") == "50" })

	// Synchronization replaces the set: c1 stays (not applied twice), c3
	// goes and is restored.
	added := len(be.added)
	d.SetAssigned([]Assignment{
		{Cgroup: "kubepods/burstable/poda/c1", Class: "high", Owner: "pod default/a container c1"},
		{Cgroup: "kubepods/besteffort/podb/c2", Class: "low", Owner: "pod default/b container c2"},
	})
	waitFor(t, "the container left out of the sync to be restored", func() bool { return read(t, fsys, "kubepods/burstable/podc/c3/cpu.weight") == "100" })
	be.mu.Lock()
	if len(be.added) != added {
		t.Errorf("synchronization added members again: %v", be.added[added:])
	}
	be.mu.Unlock()

	// Unassigning restores the member's knobs at once.
	d.Unassign("kubepods/besteffort/podb/c2")
	waitFor(t, "the unassigned container restored", func() bool {
		return read(t, fsys, "kubepods/besteffort/podb/c2/cpu.weight") == "100" && read(t, fsys, "kubepods/besteffort/podb/c2/memory.high") == "max"
	})
	err := stop()
	stop = nil
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, fsys, "kubepods/burstable/poda/c1/memory.low"); got != "0" {
		t.Errorf("after stop HIGH's memory.low = %q; want 0", got)
	}
	if n := len(d.knobs.journal.Entries()); n != 0 {
		t.Errorf("journal still holds %d entries", n)
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	for _, p := range []string{"/kubepods/burstable/poda/c1", "/kubepods/besteffort/podb/c2", "/kubepods/burstable/podc/c3"} {
		if !slices.Contains(be.removed, p) {
			t.Errorf("%s never released from the backend: %v", p, be.removed)
		}
	}
}
