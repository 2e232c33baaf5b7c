//go:build guest

// Package guest is the second tier of the memqos test suite: it builds every
// package's tests as static binaries, boots each test kernel in a qemu
// guest with `memqos vm run` machinery, and runs the binaries there as root
// on a real cgroup v2, where the tests that skip on the host run for real.
//
// Run it with: go test -tags guest -v -timeout 80m ./test/guest
//
// Each kernel declares, through MEMQOS_TEST_REQUIRE, the features it has, so
// a test that needs one of them fails rather than skips there.
package guest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/testutil"
	"github.com/memqos/memqos/internal/vm"
)

// kernel is one guest kernel of the suite.
type kernel struct {
	name    string
	file    string   // in the test kernel directory; "" for the Debian kernel
	require []string // features promised to the tests
	// optional kernels are skipped when their image is absent.
	optional bool
	// abi is the memcg_bpf_ops ABI that memqos probe must report, and
	// selftestExit the exit status memqos selftest must end with.
	abi          string
	selftestExit string
	// podman kernels also boot a Debian rootfs guest (vm.Config.Rootfs),
	// where the TestRealPodman* and TestRealKube* tests run with podman
	// and kube promised.
	podman bool
}

var kernels = []kernel{
	{name: "debian-6.1", require: []string{"root", "cgroup2", "bpf", "psi", "no_memcg_bpf_ops"}, selftestExit: "3"},
	{name: "memcg-v7", file: "memcg-v7.bzImage", require: []string{"root", "cgroup2", "bpf", "psi", "tracepoint", "memcg_bpf_ops", "memcg_bpf_ops_v7"}, abi: "v7", selftestExit: "0", podman: true},
	{name: "memcg-v6", file: "memcg-v6.bzImage", require: []string{"root", "cgroup2", "bpf", "psi", "tracepoint", "memcg_bpf_ops", "memcg_bpf_ops_v6"}, abi: "v6", selftestExit: "0"},
	{name: "stock-7.1.5", file: "stock-7.1.5.bzImage", require: []string{"root", "cgroup2", "bpf", "psi", "tracepoint", "no_memcg_bpf_ops"}, optional: true, selftestExit: "3", podman: true},
}

// pkg is one package's test binary.
type pkg struct {
	rel    string // directory relative to the repository root
	binary string // host path of the test binary
}

// Both top-level tests run at once: each guest runs qemu's single-threaded
// TCG on one host core, so the Debian rootfs guests of TestGuestPodman use
// the core TestGuestSuite's guests leave idle.

// built holds what TestMain builds for both tests: a static memqos and
// every package's test binary, in dir.
var built struct {
	root, kdir, dir, memqos string
	pkgs                    []pkg
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "memqos-guest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	err = buildAll(dir)
	code := 1
	if err == nil {
		code = m.Run()
	} else {
		fmt.Fprintln(os.Stderr, "guest tier:", err)
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func buildAll(dir string) error {
	var err error
	if built.root, err = testutil.RepoRoot(); err != nil {
		return err
	}
	if built.kdir, err = testutil.KernelDir(); err != nil {
		return err
	}
	built.dir, built.memqos = dir, filepath.Join(dir, "memqos")
	if err := goBuild(built.root, "build", "-o", built.memqos, "./cmd/memqos"); err != nil {
		return err
	}
	built.pkgs, err = buildTests(built.root, dir)
	return err
}

// kernelPath returns the image of k, fetching the Debian kernel; it skips
// t for an optional kernel that is absent.
func kernelPath(t *testing.T, k kernel) string {
	t.Helper()
	if k.file == "" {
		path, err := vm.FetchDebianKernel(context.Background(), filepath.Join(vm.KernelCacheDir(), "debian-cloud"))
		if err != nil {
			t.Fatal(err)
		}
		return path
	}
	path := filepath.Join(built.kdir, k.file)
	if _, err := os.Stat(path); err != nil && k.optional {
		t.Skipf("optional kernel: %v", err)
	}
	return path
}

func TestGuestSuite(t *testing.T) {
	t.Parallel()
	files := guestFilesIn(t, built.root, built.dir, built.memqos, built.pkgs, guestRunner)
	for _, k := range kernels {
		t.Run(k.name, func(t *testing.T) { runKernel(t, k, kernelPath(t, k), files, built.pkgs) })
	}
}

// TestGuestPodman boots the podman kernels from the Debian rootfs and runs
// there the TestRealPodman* and TestRealKube* tests, with podman and kube
// promised (the node tools of scripts/node-tools on the guest's PATH).
func TestGuestPodman(t *testing.T) {
	t.Parallel()
	for _, k := range kernels {
		if k.podman {
			t.Run(k.name, func(t *testing.T) { runPodman(t, k, kernelPath(t, k)) })
		}
	}
}

// podmanTests selects the tests that need podman (and the Kubernetes node
// tools, which need podman for their image).
const podmanTests = "^TestReal(Podman|Kube)"

// podmanRunner is the guest-side script of a rootfs guest: it runs the
// TestRealPodman* and TestRealKube* tests, package by package.
const podmanRunner = `#!/bin/sh
while read rel; do
	log=/out/$(echo "$rel" | tr / _).log
	echo "=== guest package $rel (podman)"
	cd "/work/$rel" && ./pkg.test -test.v -test.timeout 30m -test.run '^TestReal(Podman|Kube)' > "$log" 2>&1
	rc=$?
	cat "$log"
	echo "$rel $rc" >> /out/status
done < /work/packages
`

// podmanTestName matches the name of a test in podmanTests in the output
// of -test.list.
var podmanTestName = regexp.MustCompile(`(?m)^TestReal(Podman|Kube)`)

// nodeTools returns the binaries of scripts/node-tools, put on the rootfs
// guest's PATH in /usr/local/bin; it fails t when they are missing.
func nodeTools(t *testing.T) vm.File {
	t.Helper()
	dir, err := vm.NodeToolsDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range testutil.KubeTools {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			t.Fatalf("the Kubernetes node tools for the TestRealKube* tests are missing (run scripts/setup, or scripts/node-tools): %v", err)
		}
	}
	return vm.File{Host: dir, Guest: "/usr/local/bin"}
}

// runPodman boots k from the Debian rootfs, with podman, and runs there
// the tests of the packages that have Podman tests.
func runPodman(t *testing.T, k kernel, path string) {
	tools := nodeTools(t)
	var pkgs []pkg
	for _, p := range built.pkgs {
		out, err := exec.Command(p.binary, "-test.list", podmanTests).Output()
		if err != nil {
			t.Fatalf("%s -test.list: %v", p.binary, err)
		}
		if podmanTestName.Match(out) {
			pkgs = append(pkgs, p)
		}
	}
	if len(pkgs) == 0 {
		t.Fatal("no package has Podman tests")
	}
	img, err := vm.BuildRootfs(context.Background(), vm.RootfsCacheDir(), vm.Rootfs{Packages: vm.RootfsPackages}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(built.dir, "podman-"+k.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := append(guestFilesIn(t, built.root, dir, built.memqos, pkgs, podmanRunner), tools)
	out := t.TempDir()
	require := append(slices.Clone(k.require), "podman", "kube")
	cfg := vm.Config{
		Kernel:   path,
		Rootfs:   img,
		Files:    files,
		Env:      []string{testutil.EnvRequire + "=" + strings.Join(require, ","), testutil.EnvBinary + "=/bin/memqos"},
		OutDir:   out,
		MemoryMB: 3072,
		Timeout:  45 * time.Minute,
		Console:  &prefixWriter{w: os.Stderr, prefix: "[podman " + k.name + "] "},
	}
	fmt.Fprintf(os.Stderr, "=== guest kernel %s (%s) on the Debian rootfs, promising %s\n", k.name, path, strings.Join(require, ","))
	res, err := vm.Run(context.Background(), cfg, []string{"sh", "/work/run-tests"})
	if err != nil {
		t.Fatalf("rootfs guest run on %s: %v", k.name, err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("guest runner exited %d", res.ExitCode)
	}
	status := readStatus(t, filepath.Join(out, "status"))
	for _, p := range pkgs {
		t.Run(strings.ReplaceAll(p.rel, "/", "_"), func(t *testing.T) {
			if passed := checkPackage(t, out, p, status); passed == 0 {
				t.Fatalf("%s: no Podman test passed", p.rel)
			}
		})
	}
}

func goBuild(dir string, args ...string) error {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// buildTests compiles the tests of every package that has some.
func buildTests(root, build string) ([]pkg, error) {
	cmd := exec.Command("go", "list", "-f", "{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}} {{.Dir}}{{end}}", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	var pkgs []pkg
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		imp, dir, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		rel, _ := filepath.Rel(root, dir)
		bin := filepath.Join(build, strings.ReplaceAll(rel, "/", "_")+".test")
		if err := goBuild(root, "test", "-c", "-o", bin, imp); err != nil {
			return nil, err
		}
		pkgs = append(pkgs, pkg{rel: rel, binary: bin})
	}
	if len(pkgs) == 0 {
		return nil, errors.New("no test packages found")
	}
	return pkgs, nil
}

// prefixWriter writes each line to w with prefix, for guests whose
// consoles share a stream.
type prefixWriter struct {
	w      io.Writer
	prefix string
	mu     sync.Mutex
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		if _, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i]); err != nil {
			return 0, err
		}
		p.buf = p.buf[i+1:]
	}
}

// guestRunner is the guest-side script: it runs each package's tests in
// the package's directory, as `go test` would, and records the status.
const guestRunner = `#!/bin/sh
set -o pipefail
while read rel; do
	log=/out/$(echo "$rel" | tr / _).log
	echo "=== guest package $rel"
	cd "/work/$rel" && ./pkg.test -test.v -test.timeout 20m 2>&1 | tee "$log"
	echo "$rel $?" >> /out/status
done < /work/packages
echo "=== guest command: memqos probe"
memqos probe --json > /out/probe.json
echo $? > /out/probe.rc
echo "=== guest command: memqos selftest"
memqos selftest --json --dir /scratch > /out/selftest.json
echo $? > /out/selftest.rc
cat /out/selftest.json
`

// guestFilesIn returns the files of a guest run: memqos, the packages'
// test binaries and testdata, their list and runner, written to build.
func guestFilesIn(t *testing.T, root, build, memqos string, pkgs []pkg, runner string) []vm.File {
	var list strings.Builder
	files := []vm.File{{Host: memqos, Guest: "/bin/memqos"}}
	for _, p := range pkgs {
		fmt.Fprintln(&list, p.rel)
		files = append(files, vm.File{Host: p.binary, Guest: "/work/" + p.rel + "/pkg.test"})
		if td := filepath.Join(root, p.rel, "testdata"); isDir(td) {
			files = append(files, vm.File{Host: td, Guest: "/work/" + p.rel + "/testdata"})
		}
	}
	for name, content := range map[string]string{"packages": list.String(), "run-tests": runner} {
		p := filepath.Join(build, name)
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
		files = append(files, vm.File{Host: p, Guest: "/work/" + name})
	}
	return files
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func runKernel(t *testing.T, k kernel, path string, files []vm.File, pkgs []pkg) {
	out := t.TempDir()
	cfg := vm.Config{
		Kernel: path,
		Files:  files,
		Env:    []string{testutil.EnvRequire + "=" + strings.Join(k.require, ","), testutil.EnvBinary + "=/bin/memqos"},
		OutDir: out,
		// Page cache on a real disk can be reclaimed; tests that need
		// reclaim write their files there.
		ScratchMB: 1024,
		Timeout:   30 * time.Minute,
		Console:   os.Stderr,
	}
	fmt.Fprintf(os.Stderr, "=== guest kernel %s (%s), promising %s\n", k.name, path, strings.Join(k.require, ","))
	res, err := vm.Run(context.Background(), cfg, []string{"sh", "/work/run-tests"})
	if err != nil {
		t.Fatalf("guest run on %s: %v", k.name, err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("guest runner exited %d", res.ExitCode)
	}
	status := readStatus(t, filepath.Join(out, "status"))
	for _, p := range pkgs {
		t.Run(strings.ReplaceAll(p.rel, "/", "_"), func(t *testing.T) {
			checkPackage(t, out, p, status)
		})
	}
	t.Run("memqos_probe", func(t *testing.T) { checkProbe(t, out, k) })
	t.Run("memqos_selftest", func(t *testing.T) { checkSelftest(t, out, k) })
}

func readOut(t *testing.T, out, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, name))
	if err != nil {
		t.Fatalf("the guest left no %s: %v", name, err)
	}
	return b
}

// checkProbe checks memqos probe --json against the kernel's known ABI.
func checkProbe(t *testing.T, out string, k kernel) {
	if rc := strings.TrimSpace(string(readOut(t, out, "probe.rc"))); rc != "0" {
		t.Fatalf("memqos probe exited %s", rc)
	}
	var r struct {
		ABI      string            `json:"memcg_bpf_ops_abi"`
		MemcgOps struct{ OK bool } `json:"memcg_bpf_ops"`
	}
	if err := json.Unmarshal(readOut(t, out, "probe.json"), &r); err != nil {
		t.Fatal(err)
	}
	if r.ABI != k.abi || r.MemcgOps.OK != (k.abi != "") {
		t.Fatalf("memqos probe reports ABI %q (ok=%v); want %q", r.ABI, r.MemcgOps.OK, k.abi)
	}
}

// checkSelftest checks memqos selftest's exit status and results: 4/4 PASS
// with memcg_bpf_ops, every test UNSUPPORTED (exit 3) without.
func checkSelftest(t *testing.T, out string, k kernel) {
	rc := strings.TrimSpace(string(readOut(t, out, "selftest.rc")))
	var results []struct {
		Name, Status, Reason string
		Attempts             int
		EarlierFailures      []string `json:"earlier_failures"`
	}
	if err := json.Unmarshal(readOut(t, out, "selftest.json"), &results); err != nil {
		t.Fatal(err)
	}
	want := "PASS"
	if k.abi == "" {
		want = "UNSUPPORTED"
	}
	passed := 0
	for _, r := range results {
		if len(r.EarlierFailures) > 0 {
			t.Logf("%s: %s on attempt %d after %q", r.Name, r.Status, r.Attempts, r.EarlierFailures)
		}
		if r.Status == want {
			passed++
		} else {
			t.Errorf("%s: %s (%s); want %s", r.Name, r.Status, r.Reason, want)
		}
	}
	t.Logf("memqos selftest: %d/%d %s, exit %s", passed, len(results), want, rc)
	if rc != k.selftestExit || len(results) != 4 {
		t.Fatalf("memqos selftest exited %s with %d results; want exit %s with 4", rc, len(results), k.selftestExit)
	}
}

func readStatus(t *testing.T, path string) map[string]string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no status from the guest: %v", err)
	}
	defer f.Close()
	m := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rel, rc, ok := strings.Cut(s.Text(), " "); ok {
			m[rel] = rc
		}
	}
	return m
}

var resultLine = regexp.MustCompile(`^\s*--- (PASS|FAIL|SKIP): (\S+)`)

// checkPackage checks a package's guest run and returns how many of its
// tests passed.
func checkPackage(t *testing.T, out string, p pkg, status map[string]string) int {
	logPath := filepath.Join(out, strings.ReplaceAll(p.rel, "/", "_")+".log")
	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatalf("no log: %v", err)
	}
	counts := map[string]int{}
	for _, line := range strings.Split(string(log), "\n") {
		if m := resultLine.FindStringSubmatch(line); m != nil {
			counts[m[1]]++
		}
	}
	t.Logf("%s: %d passed, %d failed, %d skipped", p.rel, counts["PASS"], counts["FAIL"], counts["SKIP"])
	rc, ok := status[p.rel]
	switch {
	case !ok:
		t.Fatalf("the guest never finished %s", p.rel)
	case rc != "0" || counts["FAIL"] > 0:
		t.Fatalf("%s failed in the guest (status %s):\n%s", p.rel, rc, tail(string(log), 60))
	}
	return counts["PASS"]
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
