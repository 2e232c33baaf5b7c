package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/status"
	"github.com/memqos/memqos/internal/testutil"
)

// The tests in this file run memqos run --class, and memqos daemon, as
// root on a real cgroup v2: in the guest suite.

// allocHelper maps and touches args[0] MiB of anonymous memory, then exits
// 0: a command that exceeds a small class's memory_max.
func allocHelper(args []string) int {
	n, err := strconv.Atoi(args[0])
	if err == nil {
		_, err = testutil.MapTouched(n << 20)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

// classConfig writes a daemon configuration whose root is a fresh group
// below the cgroup mount, with the classes high and low (low with
// memory_max 64MiB) and the state file in a temporary directory. It
// returns the file and the root, which is removed, with everything below
// it, when t ends.
func classConfig(t *testing.T) (string, *cgroup.Group) {
	t.Helper()
	fsys := realFS(t)
	root := fsys.Group(fmt.Sprintf("memqos-test-%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), rand.IntN(1<<30)))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := root.Remove(ctx, nil); err != nil {
			t.Errorf("remove the test's root: %v", err)
		}
	})
	dir := t.TempDir()
	cfg := fmt.Sprintf(`root: %s
backend: auto
classes:
  - name: high
    priority: high
  - name: low
    priority: low
    memory_max: 64MiB
state: %s/state.json
`, strings.TrimPrefix(root.Name(), "/"), dir)
	return writeFile(t, dir, "memqos.yaml", cfg), root
}

// runGroupRE matches /proc/self/cgroup of a command memqos run --class
// started in class low below root.
func runGroupRE(root *cgroup.Group) *regexp.Regexp {
	return regexp.MustCompile(`^0::(` + regexp.QuoteMeta(root.Name()) + `/low/memqos-run-[0-9]+)\n`)
}

// TestRealRunClassOOM runs a command that touches 200 MiB in class low,
// whose memory_max is 64 MiB: memqos exits 137 and explains the OOM kill
// in one line, with the peak and the limit, whether the command itself
// was killed or a shell reports its child's kill.
func TestRealRunClassOOM(t *testing.T) {
	cfg, _ := classConfig(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cmd  []string
		// alone: memqos's line is all of stderr (a shell may report the
		// kill itself).
		alone bool
	}{
		{"killed itself", []string{exe, "200"}, true},
		{"through a shell", []string{"sh", "-c", exe + " 200; exit $?"}, false},
	}
	want := regexp.MustCompile(`^memqos: \S+ was OOM-killed in class low: it reached a peak of ([0-9.]+) MiB against the class's memory_max of 64\.0 MiB \(67108864 bytes\); raise classes\[1\]\.memory_max in ` + regexp.QuoteMeta(cfg) + `, or run it in a class with more memory$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(testutil.Memqos(t), append([]string{"run", "--class", "low", "--config", cfg, "--"}, tt.cmd...)...)
			cmd.Env = append(os.Environ(), testutil.HelperEnv("alloc"))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			cmd.Run()
			var lines []string
			for _, l := range strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n") {
				if strings.HasPrefix(l, "memqos: ") {
					lines = append(lines, l)
				}
			}
			code := cmd.ProcessState.ExitCode()
			if code != exitOOMKilled || len(lines) != 1 || tt.alone && stderr.String() != lines[0]+"\n" {
				t.Fatalf("exit %d, stderr %q; want %d and one line from memqos", code, stderr.String(), exitOOMKilled)
			}
			m := want.FindStringSubmatch(lines[0])
			if m == nil {
				t.Fatalf("stderr %q does not match %s", lines[0], want)
			}
			if peak, _ := strconv.ParseFloat(m[1], 64); peak < 32 || peak > 64.05 {
				t.Errorf("peak %s MiB; want up to the 64 MiB limit", m[1])
			}
		})
	}
}

// TestRealRunClassCLI runs commands with run --class: each runs in its
// own group ROOT/CLASS/memqos-run-PID with the class's memory_max, its
// status is passed on, and the group is gone afterwards.
func TestRealRunClassCLI(t *testing.T) {
	cfg, root := classConfig(t)
	fsys := realFS(t)
	show := "cat /proc/self/cgroup; cat /sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)/memory.max; "
	tests := []struct {
		class, script string
		code          int
		max           string
	}{
		{"low", show + "exit 7", 7, "67108864"},
		{"high", show + "exit 0", 0, "max"},
		{"low", show + "kill -TERM $$", 143, "67108864"},
	}
	for _, tt := range tests {
		t.Run(tt.class+" "+tt.script[len(show):], func(t *testing.T) {
			r := testutil.RunMemqos(t, "run", "--class", tt.class, "--config", cfg, "--", "sh", "-c", tt.script)
			re := regexp.MustCompile(`^0::(` + regexp.QuoteMeta(root.Name()+"/"+tt.class) + `/memqos-run-[0-9]+)\n` + tt.max + "\n$")
			m := re.FindStringSubmatch(r.Stdout)
			if r.Code != tt.code || m == nil || r.Stderr != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d, a group of its own with memory.max %s", r.Code, r.Stdout, r.Stderr, tt.code, tt.max)
			}
			if g := fsys.Group(m[1]); g.Exists() {
				t.Errorf("%s still exists after the command ended", g.Path())
			}
		})
	}
}

// TestRealRunClassStale SIGKILLs memqos run --class while its command
// runs: the next run --class in the class removes the group left behind,
// and the process in it, but not the group of a live memqos.
func TestRealRunClassStale(t *testing.T) {
	cfg, root := classConfig(t)
	fsys := realFS(t)
	cmd := exec.Command(testutil.Memqos(t), "run", "--class", "low", "--config", cfg, "sleep", "1000")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stale := fsys.Group(fmt.Sprintf("%s/low/memqos-run-%d", root.Name(), cmd.Process.Pid))
	waitPopulated(t, stale)
	cmd.Process.Kill()
	cmd.Wait()
	live, err := fsys.Create(fmt.Sprintf("%s/low/memqos-run-%d", root.Name(), os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	if !stale.Exists() {
		t.Fatalf("SIGKILL left no group %s to clean up", stale.Name())
	}
	if r := testutil.RunMemqos(t, "run", "--class", "low", "--config", cfg, "true"); r.Code != 0 {
		t.Errorf("the next run --class exited %d: %s", r.Code, r.Stderr)
	}
	if stale.Exists() {
		t.Errorf("the next run --class left the stale group %s", stale.Name())
	}
	if !live.Exists() {
		t.Errorf("the next run --class removed %s, the group of a live process", live.Name())
	}
}

// TestRealRunClassDaemon runs memqos daemon with the same configuration as
// run --class: while the command runs, memqos status lists its group as a
// member of the class; after it ends, the member is gone; SIGTERM stops
// the daemon with status 0.
func TestRealRunClassDaemon(t *testing.T) {
	cfg, root := classConfig(t)
	dir := t.TempDir()
	var log bytes.Buffer
	d := exec.Command(testutil.Memqos(t), "daemon", "--config", cfg)
	d.Stderr = &log
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("daemon log:\n%s", log.String())
		}
	}()
	defer d.Process.Kill()
	cg, gate := filepath.Join(dir, "cgroup"), filepath.Join(dir, "go")
	run := exec.Command(testutil.Memqos(t), "run", "--class", "low", "--config", cfg, "--", "sh", "-c",
		fmt.Sprintf("cat /proc/self/cgroup > %s; while [ ! -e %s ]; do sleep 0.05; done", cg, gate))
	run.Stderr = os.Stderr
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer run.Process.Kill()
	waitFile(t, cg)
	b, _ := os.ReadFile(cg)
	m := runGroupRE(root).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("the command ran in %q; want a group of its own in class low", b)
	}
	waitMember(t, cfg, m[1], true)
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run.Wait(); err != nil {
		t.Errorf("run --class: %v", err)
	}
	waitMember(t, cfg, m[1], false)
	if err := d.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := d.Wait(); err != nil {
		t.Errorf("the daemon ended with %v after SIGTERM; want status 0", err)
	}
}

// waitMember asks the daemon of cfg, with memqos status --json, until
// its class low lists the member cg (want) or does not (!want).
func waitMember(t *testing.T, cfg, cg string, want bool) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		r := testutil.RunMemqos(t, "status", "--json", "--config", cfg)
		last = r.Stdout + r.Stderr
		var st status.Status
		if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &st) != nil {
			continue
		}
		if hasMember(st, "low", cg) == want {
			return
		}
	}
	t.Fatalf("memqos status never showed %s as a member of class low = %v; last:\n%s", cg, want, last)
}

func hasMember(st status.Status, class, cg string) bool {
	for _, c := range st.Classes {
		for _, m := range c.Members {
			if c.Name == class && m.Cgroup == cg {
				return true
			}
		}
	}
	return false
}
