package cgroup_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/testutil"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { testutil.Main(m, helpers) }

func fakeFS(t *testing.T, files map[string]string) *cgroup.FS {
	return &cgroup.FS{Root: testutil.FakeCgroupTree(t, files)}
}

func TestLimitRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want cgroup.Limit
	}{
		{"max", cgroup.Unlimited},
		{"0", 0},
		{"1073741824\n", 1 << 30},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := cgroup.ParseLimit(tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("ParseLimit(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
			again, err := cgroup.ParseLimit(got.String())
			if err != nil || again != got {
				t.Fatalf("round trip of %v gave %v, %v", got, again, err)
			}
		})
	}
	for _, bad := range []string{"", "-1", "12k", "maximum"} {
		if _, err := cgroup.ParseLimit(bad); err == nil {
			t.Errorf("ParseLimit(%q) succeeded", bad)
		}
	}
}

func TestSetAndReadLimitsOnFakeTree(t *testing.T) {
	fsys := fakeFS(t, map[string]string{
		"a/memory.max": "max\n", "a/memory.high": "max\n", "a/memory.low": "0\n",
		"a/memory.min": "0\n", "a/memory.swap.max": "max\n",
	})
	g := fsys.Group("a")
	for i, knob := range []string{cgroup.MemoryMax, cgroup.MemoryHigh, cgroup.MemoryLow, cgroup.MemoryMin, cgroup.MemorySwapMax} {
		want := cgroup.Limit(4096 * (i + 1))
		if err := g.SetLimit(knob, want); err != nil {
			t.Fatal(err)
		}
		got, err := g.Limit(knob)
		if err != nil || got != want {
			t.Errorf("%s: got %v, %v; want %v", knob, got, err, want)
		}
	}
	if err := g.SetLimit(cgroup.MemoryMax, cgroup.Unlimited); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(fsys.Root, "a/memory.max")); string(b) != "max" {
		t.Errorf("memory.max holds %q, want %q", b, "max")
	}
}

func TestReadTypedFiles(t *testing.T) {
	fsys := fakeFS(t, map[string]string{
		"g/memory.current":      "123456\n",
		"g/memory.peak":         "999999\n",
		"g/memory.events":       "low 1\nhigh 2\nmax 3\noom 4\noom_kill 5\noom_group_kill 6\n",
		"g/memory.events.local": "low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\noom_group_kill 0\n",
		"g/memory.stat":         "anon 4096\nfile 8192\nkernel 100\npgfault 42\n",
		"g/memory.pressure":     "some avg10=1.50 avg60=0.25 avg300=0.00 total=12345\nfull avg10=0.50 avg60=0.00 avg300=0.00 total=678\n",
		"g/cgroup.events":       "populated 1\nfrozen 0\n",
		"g/cgroup.procs":        "1\n42\n",
	})
	g := fsys.Group("g")
	if v, err := g.MemoryCurrent(); err != nil || v != 123456 {
		t.Errorf("MemoryCurrent = %d, %v", v, err)
	}
	if v, err := g.MemoryPeak(); err != nil || v != 999999 {
		t.Errorf("MemoryPeak = %d, %v", v, err)
	}
	ev, err := g.MemoryEvents()
	if want := (cgroup.MemoryEvents{1, 2, 3, 4, 5, 6}); err != nil || ev != want {
		t.Errorf("MemoryEvents = %+v, %v; want %+v", ev, err, want)
	}
	local, err := g.MemoryEventsLocal()
	if err != nil || local.OOMKill != 1 || local.Low != 0 {
		t.Errorf("MemoryEventsLocal = %+v, %v", local, err)
	}
	if d := ev.Sub(local); d.OOMKill != 4 || d.Max != 2 {
		t.Errorf("Sub = %+v", d)
	}
	st, err := g.MemoryStat()
	if err != nil || st.Anon() != 4096 || st.File() != 8192 || st["pgfault"] != 42 {
		t.Errorf("MemoryStat = %v, %v", st, err)
	}
	p, err := g.MemoryPressure()
	if err != nil || p.Some.Avg10 != 1.5 || p.Some.Total != 12345*time.Microsecond || p.Full.Total != 678*time.Microsecond {
		t.Errorf("MemoryPressure = %+v, %v", p, err)
	}
	populated, frozen, err := g.Events()
	if err != nil || !populated || frozen {
		t.Errorf("Events = %v %v %v", populated, frozen, err)
	}
	pids, err := g.Procs()
	if err != nil || len(pids) != 2 || pids[1] != 42 {
		t.Errorf("Procs = %v, %v", pids, err)
	}
}

func TestMalformedFilesNameTheFile(t *testing.T) {
	fsys := fakeFS(t, map[string]string{
		"g/memory.events":   "low one\n",
		"g/memory.pressure": "some avg10=x\n",
		"g/memory.current":  "lots\n",
		"g/memory.max":      "12k\n",
	})
	g := fsys.Group("g")
	check := func(name string, err error) {
		t.Helper()
		var fe *cgroup.FileError
		if !errors.As(err, &fe) || filepath.Base(fe.Path) != name {
			t.Errorf("error for %s = %v; want a FileError naming it", name, err)
		}
	}
	_, err := g.MemoryEvents()
	check("memory.events", err)
	_, err = g.MemoryPressure()
	check("memory.pressure", err)
	_, err = g.MemoryCurrent()
	check("memory.current", err)
	_, err = g.Limit(cgroup.MemoryMax)
	check("memory.max", err)
}

func TestMissingControllerFile(t *testing.T) {
	fsys := fakeFS(t, map[string]string{"p/c/cgroup.procs": ""})
	err := fsys.Group("p/c").SetLimit(cgroup.MemoryHigh, 1<<20)
	if !errors.Is(err, cgroup.ErrControllerNotEnabled) {
		t.Fatalf("got %v; want ErrControllerNotEnabled", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v does not match fs.ErrNotExist", err)
	}
	// A group that does not exist at all is not a controller problem.
	err = fsys.Group("nope").SetLimit(cgroup.MemoryHigh, 1<<20)
	if errors.Is(err, cgroup.ErrControllerNotEnabled) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing group: got %v", err)
	}
}

func TestPermissionDeniedOnFakeTree(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores file modes; the real permission test runs in the guest")
	}
	fsys := fakeFS(t, map[string]string{"g/memory.max": "max\n"})
	if err := os.Chmod(filepath.Join(fsys.Root, "g/memory.max"), 0o444); err != nil {
		t.Fatal(err)
	}
	err := fsys.Group("g").SetLimit(cgroup.MemoryMax, 4096)
	if !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("got %v; want fs.ErrPermission", err)
	}
}

func TestOpenRejectsNonCgroup2(t *testing.T) {
	_, err := cgroup.Open(t.TempDir())
	var v1 *cgroup.V1Error
	if !errors.As(err, &v1) || !errors.Is(err, cgroup.ErrNotV2) {
		t.Fatalf("Open(tmpdir) = %v; want a V1Error", err)
	}
	if _, err := cgroup.Open("/does/not/exist"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open(missing) = %v; want fs.ErrNotExist", err)
	}
}

// TestOpenDefaultRoot checks the host's own hierarchy: it opens on a unified
// host and fails with a V1Error naming the v1 memory mount on a v1 or hybrid
// host such as the project's build machines.
func TestOpenDefaultRoot(t *testing.T) {
	var st unix.Statfs_t
	if err := unix.Statfs(cgroup.DefaultRoot, &st); err != nil {
		t.Skipf("no %s: %v", cgroup.DefaultRoot, err)
	}
	_, err := cgroup.Open("")
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		if err != nil && !testutil.Promised(testutil.CgroupV2) {
			t.Skipf("cgroup2 without memory: %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	var v1 *cgroup.V1Error
	if !errors.As(err, &v1) {
		t.Fatalf("Open on a non-v2 root = %v; want V1Error", err)
	}
	t.Logf("as expected: %v", err)
}

// TestGroupPaths checks that a group is found by its full path below the
// root as well as by its path relative to the root.
func TestGroupPaths(t *testing.T) {
	fsys := &cgroup.FS{Root: "/sys/fs/cgroup"}
	tests := []struct{ path, name string }{
		{"a/b", "/a/b"},
		{"/a/b", "/a/b"},
		{"/sys/fs/cgroup/a/b", "/a/b"},
		{"/sys/fs/cgroup/a/b/", "/a/b"},
		{"/sys/fs/cgroup", "/"},
		{"", "/"},
		// Not below the root: a path relative to it.
		{"/sys/fs/cgroupx/a", "/sys/fs/cgroupx/a"},
		{"sys/fs/cgroup/a", "/sys/fs/cgroup/a"},
	}
	for _, tt := range tests {
		g := fsys.Group(tt.path)
		if g.Name() != tt.name || g.Path() != filepath.Join("/sys/fs/cgroup", tt.name) {
			t.Errorf("Group(%q) = %s (%s); want %s", tt.path, g.Name(), g.Path(), tt.name)
		}
	}
}

func TestCheckKnobOriginals(t *testing.T) {
	for _, tc := range []struct {
		file, value string
		ok          bool
	}{
		{"memory.max", "max", true}, {"memory.max", "524288000", true}, {"memory.max", "", false}, {"memory.max", "50%", false},
		{"memory.low", "0", true}, {"cpu.weight", "100", true}, {"cpu.weight", "0", false}, {"cpu.weight", "", false},
		{"io.weight", "default 100", true}, {"io.weight", "8:0 100", false}, {"cgroup.freeze", "0", true}, {"cgroup.freeze", "2", false},
	} {
		if err := cgroup.CheckKnob(tc.file, tc.value); (err == nil) != tc.ok {
			t.Errorf("CheckKnob(%s, %q) = %v; want ok %v", tc.file, tc.value, err, tc.ok)
		}
	}
}
