package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memqos/memqos/internal/bench"
	"github.com/memqos/memqos/internal/podman"
	"github.com/memqos/memqos/internal/testutil"
	"github.com/memqos/memqos/internal/vm"
	"github.com/spf13/cobra"
)

// TestBenchRejects checks bad bench and report input: each is refused
// with a clear message and exit status 125, before anything runs, and a
// results directory that holds something is left as it was.
func TestBenchRejects(t *testing.T) {
	defer func(b string) { podman.Binary = b }(podman.Binary)
	podman.Binary = "/nonexistent/podman"
	full := t.TempDir()
	old := filepath.Join(full, "old.json")
	if err := os.WriteFile(old, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(t.TempDir(), "r")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "isolation"}, `required flag(s) "out" not set`},
		{[]string{"bench", "isolation", "-o", fresh, "--scenario", "9"}, `--scenario "9": want one of 1, 2, 3, idle, low-over-cap, low-spike, high-bursty`},
		{[]string{"bench", "isolation", "-o", fresh, "--total-mb", "0"}, "--total-mb 0: want a positive size"},
		{[]string{"bench", "isolation", "-o", fresh, "--strategies", "none,fast"}, `unknown strategy "fast"`},
		{[]string{"bench", "isolation", "-o", fresh, "--base-mb", "-1"}, "--base-mb"},
		{[]string{"bench", "overhead", "-o", fresh, "--micro-mib", "0"}, "--micro-mib 0, --iterations 200: want positive numbers"},
		{[]string{"bench", "overhead", "-o", fresh, "--strategies", "static"}, `"static" runs no daemon`},
		{[]string{"bench", "isolation", "-o", full, "--vm", "debian-cloud"}, "results directory is not empty"},
		{[]string{"bench", "isolation", "-o", fresh, "--vm", "debian-cloud", "--low", "/nonexistent/trace.json"}, "--low: stat /nonexistent/trace.json"},
		{[]string{"bench", "isolation", "-o", fresh, "--vm", "debian-cloud", "--vm-tcg", "many"}, `--vm-tcg "many": want multi or single`},
		{[]string{"bench", "overhead", "-o", fresh, "--vm", "debian-cloud", "--vm-crashes", "0"}, "--vm-crashes 0: want at least 1"},
		{[]string{"report", t.TempDir()}, "not a memqos bench results directory"},
		{[]string{"bench", "isolation", "-o", fresh, "--runtime", "docker"}, `--runtime "docker": want process or podman`},
		{[]string{"bench", "isolation", "-o", fresh, "--runtime", "podman"}, "--runtime podman needs podman"},
	} {
		code, _, stderr := runCLI(tc.args...)
		if code != exitMemqos || !strings.Contains(stderr, tc.want) {
			t.Errorf("memqos %s: exit %d, stderr %q; want %d and %q", strings.Join(tc.args, " "), code, stderr, exitMemqos, tc.want)
		}
	}
	if ents, err := os.ReadDir(full); err != nil || len(ents) != 1 {
		t.Errorf("the full results directory changed: %v %v", ents, err)
	}
	if _, err := os.Stat(fresh); err == nil {
		t.Errorf("a refused bench created %s", fresh)
	}
}

// TestGuestBenchArgs checks the command a bench runs in the guest: the
// flags given, trace files put into the guest under new names, built-in
// traces as they are, and the host's own flags left out.
func TestGuestBenchArgs(t *testing.T) {
	tr := filepath.Join(t.TempDir(), "my trace.json")
	if err := os.WriteFile(tr, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := newBenchIsolationCmd(&globals{})
	cmd.RunE = func(*cobra.Command, []string) error { return nil }
	cmd.SetArgs([]string{"--out", "/tmp/x", "--vm", "k", "--vm-mem-mib", "4096", "--vm-tcg", "single", "--vm-crashes", "5", "--runs", "3", "--low", tr, "--low", "builtin:b", "--speed", "10", "--runtime", "podman",
		"--variant", "wide=/etc/memqos/wide.yaml"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	argv, files, err := guestBenchArgs(cmd.Flags(), "isolation")
	if err != nil {
		t.Fatal(err)
	}
	want := "memqos bench isolation --out /out/results --no-summary --progress-lines --high=builtin:dask__dask-11628 " +
		"--low=/work/traces/0-my trace.json --low=builtin:b --runs=3 --runtime=podman --speed=10 --variant=wide=/work/variants/1-wide.yaml"
	if got := strings.Join(argv, " "); got != want {
		t.Errorf("guest command\n%s\nwant\n%s", got, want)
	}
	if len(files) != 2 || files[0] != (vm.File{Host: tr, Guest: "/work/traces/0-my trace.json"}) ||
		files[1] != (vm.File{Host: "/etc/memqos/wide.yaml", Guest: "/work/variants/1-wide.yaml"}) {
		t.Errorf("files %+v", files)
	}
}

func TestParseVariants(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("backend: cgroupfs\nclasses:\n  - {name: high, priority: high}\n  - {name: low, priority: low}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	vs, err := parseVariants([]string{"a=" + good, "b=" + good})
	if err != nil || len(vs) != 2 || vs[1].Name != "b" {
		t.Fatalf("parseVariants = %+v, %v", vs, err)
	}
	for flags, want := range map[string]string{
		"a":                        `--variant "a": want NAME=FILE`,
		"a=" + dir + "/none.yaml":  "--variant a: open " + dir + "/none.yaml: no such file or directory",
		"none=" + good:             `--variant none (` + good + `): variant name "none" is taken by a strategy or a baseline`,
		"a=" + good + ",a=" + good: "--variant a: given twice",
	} {
		if _, err := parseVariants(strings.Split(flags, ",")); err == nil || err.Error() != want {
			t.Errorf("parseVariants(%q) = %v, want %q", flags, err, want)
		}
	}
}

// TestGuestBenchArgsPreset: a preset's traces go to the guest as flags,
// the ones given explicitly instead of the preset's.
func TestGuestBenchArgsPreset(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--scenario", "high-bursty"}, "--high=builtin:pre-commit__pre-commit-2524 --low=builtin:dask__dask-2205 --low=builtin:dask__dask-2205 --scenario=high-bursty"},
		{[]string{"--scenario", "low-spike", "--low", "builtin:x"}, "--high=builtin:dask__dask-2205 --low=builtin:x --scenario=low-spike"},
		{nil, "--high=builtin:dask__dask-11628 --low=builtin:sigmavirus24__github3.py-673 --low=builtin:sigmavirus24__github3.py-673"},
	} {
		cmd := newBenchIsolationCmd(&globals{})
		cmd.RunE = func(*cobra.Command, []string) error { return nil }
		cmd.SetArgs(append([]string{"--out", "/tmp/x", "--vm", "k"}, tc.args...))
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		argv, _, err := guestBenchArgs(cmd.Flags(), "isolation")
		if err != nil {
			t.Fatal(err)
		}
		want := "memqos bench isolation --out /out/results --no-summary --progress-lines " + tc.want
		if got := strings.Join(argv, " "); got != want {
			t.Errorf("%q: guest command\n%s\nwant\n%s", tc.args, got, want)
		}
	}
}

// TestProgressRelay feeds the relay a guest console cut at random places:
// only the bench's progress lines come out, whole.
func TestProgressRelay(t *testing.T) {
	var out bytes.Buffer
	r := &progressRelay{prog: newBenchProgress(&out, true)}
	console := "[    1.2] kernel says hi\r\nmemqos-bench: 1/8 run 1 none 12.3s ok\r\nnoise memqos-bench: 2/8 run 1 static 9.0s ok\npartial"
	for i := 0; i < len(console); i += 7 {
		r.Write([]byte(console[i:min(i+7, len(console))]))
	}
	want := "memqos-bench: 1/8 run 1 none 12.3s ok\nmemqos-bench: 2/8 run 1 static 9.0s ok\n"
	if out.String() != want {
		t.Errorf("relayed %q; want %q", out.String(), want)
	}
}

// TestRealBenchCLI runs memqos bench overhead for real, briefly, then
// memqos report on its results: both print the summary table.
func TestRealBenchCLI(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2)
	out := filepath.Join(t.TempDir(), "r")
	parent := testutil.ParentCgroup(t)
	run := testutil.RunMemqos(t, "bench", "overhead", "--runs", "1", "--iterations", "5", "--speed", "20",
		"--cgroup", strings.TrimPrefix(parent.Name(), "/")+"/bench", "-o", out)
	if run.Code != 0 || !strings.Contains(run.Stdout, "micro P95 latency") || !strings.Contains(run.Stdout, "cgroupfs") {
		t.Fatalf("bench overhead: exit %d\nstdout:\n%s\nstderr:\n%s", run.Code, run.Stdout, run.Stderr)
	}
	rep := testutil.RunMemqos(t, "report", out, "-o", filepath.Join(out, "rendered"))
	if rep.Code != 0 || rep.Stdout != run.Stdout {
		t.Errorf("report: exit %d, stdout\n%s\nwant the bench's table\n%s\nstderr: %s", rep.Code, rep.Stdout, run.Stdout, rep.Stderr)
	}
	for _, f := range []string{"report.md", "overhead-cgroupfs.svg"} {
		if _, err := os.Stat(filepath.Join(out, "rendered", f)); err != nil {
			t.Error(err)
		}
	}
}

// TestGuestMemory: a guest has room for the scenario's limit, whichever
// flag or preset set it.
func TestGuestMemory(t *testing.T) {
	for _, tc := range []struct {
		asked  int
		total  int64
		want   int
		podman bool
	}{{0, 1100e6, 2073, false}, {0, 2560e6, 3465, false}, {0, 0, 2048, false}, {4096, 2560e6, 4096, false},
		{0, 1100e6, 2585, true}, {4096, 1100e6, 4096, true}} {
		if got := guestMemMiB(tc.asked, bench.Scenario{TotalBytes: tc.total}, tc.podman); got != tc.want {
			t.Errorf("asked %d, limit %d, podman %v: %d MiB; want %d", tc.asked, tc.total, tc.podman, got, tc.want)
		}
	}
}
