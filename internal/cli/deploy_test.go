package cli

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/testutil"
)

// readUnit returns the settings of a systemd unit file, by "Section.Key".
func readUnit(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	unit, section := map[string]string{}, ""
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: not a setting: %q", path, line)
			}
			unit[section+"."+k] = v
		}
	}
	return unit
}

// TestUnit holds deploy/memqos.service to what the daemon needs: it runs
// memqos daemon on the configuration memqos run --class reads by default,
// reloads with SIGHUP, keeps the state file's directory across restarts,
// keeps cgroupfs writable, and does not delegate its own cgroup.
func TestUnit(t *testing.T) {
	testutil.Require(t, testutil.Source)
	root, err := testutil.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	u := readUnit(t, filepath.Join(root, "deploy", "memqos.service"))
	exec := strings.Fields(u["Service.ExecStart"])
	if len(exec) != 4 || filepath.Base(exec[0]) != "memqos" || !slices.Equal(exec[1:], []string{"daemon", "--config", defaultConfig}) {
		t.Errorf("ExecStart=%s; want memqos daemon --config %s", u["Service.ExecStart"], defaultConfig)
	}
	want := map[string]string{
		"Service.ExecReload":               "/bin/kill -HUP $MAINPID",
		"Service.KillSignal":               "SIGTERM",
		"Service.Restart":                  "on-failure",
		"Service.Type":                     "notify",
		"Service.NotifyAccess":             "main",
		"Service.RuntimeDirectory":         filepath.Base(filepath.Dir(config.DefaultState)),
		"Service.RuntimeDirectoryPreserve": "yes",
	}
	for k, v := range want {
		if u[k] != v {
			t.Errorf("%s=%q; want %q", k, u[k], v)
		}
	}
	// The watchdog restarts a hung daemon after the kernel has failed
	// open: WatchdogSec= is at least twice the default lease.
	if wd, err := time.ParseDuration(u["Service.WatchdogSec"]); err != nil || wd < 2*config.DefaultLease {
		t.Errorf("WatchdogSec=%q; want at least twice the default lease %v", u["Service.WatchdogSec"], config.DefaultLease)
	}
	// Documentation names the repository's files, installed where the
	// unit's install steps put them.
	const docDir = "file:/usr/local/share/doc/memqos/"
	docs := strings.Fields(u["Unit.Documentation"])
	if len(docs) == 0 {
		t.Error("no Documentation=")
	}
	for _, d := range docs {
		rel, ok := strings.CutPrefix(d, docDir)
		if !ok {
			t.Errorf("Documentation=%s; want files under %s", d, docDir)
			continue
		}
		if _, err := os.Stat(filepath.Join(root, rel)); err != nil {
			t.Errorf("Documentation=%s: %v", d, err)
		}
	}
	if filepath.Dir(config.DefaultState) != "/run/memqos" {
		t.Errorf("the default state file %s is not in RuntimeDirectory=memqos", config.DefaultState)
	}
	caps := strings.Fields(u["Service.CapabilityBoundingSet"])
	for _, c := range []string{"CAP_SYS_ADMIN", "CAP_BPF", "CAP_PERFMON"} {
		if !slices.Contains(caps, c) {
			t.Errorf("CapabilityBoundingSet lacks %s", c)
		}
	}
	// These would make the unit's view of the cgroup tree read-only, or
	// put the governed tree, with every session, in the unit's cgroup.
	for _, k := range []string{"Service.ProtectControlGroups", "Service.ProtectKernelTunables", "Service.Delegate"} {
		if v, ok := u[k]; ok && v != "no" {
			t.Errorf("%s=%s", k, v)
		}
	}
}
