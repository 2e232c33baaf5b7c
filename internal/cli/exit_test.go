package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memqos/memqos/internal/testutil"
)

// TestExitTable runs the real memqos binary and holds every command to the
// exit-status table of README.md, for the cases that need no cgroup v2:
// memqos's own failures are 125 everywhere, a CMD that cannot start is
// 127 or 126. The cases that need a cgroup run in the guest suite.
func TestExitTable(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.json")
	badCfg := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badCfg, []byte("classes:\n  - {name: a, priority: sideways}\n"), 0o644)
	goodCfg := filepath.Join(dir, "good.yaml")
	os.WriteFile(goodCfg, []byte("classes:\n  - {name: high, priority: high}\n  - {name: low, priority: low}\n"), 0o644)
	nriBad := filepath.Join(dir, "nri.yaml")
	os.WriteFile(nriBad, []byte("nri: {qos: {burstable: medium}}\nclasses:\n  - {name: low, priority: low}\n"), 0o644)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"version", []string{"version"}, 0, ""},
		{"help", []string{"--help"}, 0, ""},
		{"unknown command", []string{"bogus"}, exitMemqos, `unknown command "bogus"`},
		{"bench: unknown command", []string{"bench", "isolaton"}, exitMemqos, "unknown command \"isolaton\" for \"memqos bench\"\n\nDid you mean this?\n\tisolation\n"},
		{"trace: unknown command", []string{"trace", "replai", "x", "-o", out}, exitMemqos, "unknown command \"replai\" for \"memqos trace\"\n\nDid you mean this?\n\treplay\n"},
		{"help: unknown command", []string{"help", "vm", "rn"}, exitMemqos, `unknown command "rn" for "memqos vm"`},
		{"log level", []string{"--log-level", "bogus", "version"}, exitMemqos, `--log-level "bogus": want debug, info, warn or error`},
		{"log level upper case", []string{"--log-level", "DEBUG", "version"}, 0, ""},
		{"probe: unknown flag", []string{"probe", "--bogus"}, exitMemqos, "unknown flag: --bogus"},
		{"trace stats: missing file", []string{"trace", "stats", filepath.Join(dir, "none.json")}, exitMemqos, "no such file"},
		{"replay: unknown trace", []string{"trace", "replay", "builtin:nope"}, exitMemqos, `unknown builtin trace "nope"`},
		{"replay: zero speed", []string{"trace", "replay", "builtin:dask__dask-11628", "--speed", "0"}, exitMemqos, "--speed 0: must be positive"},
		{"record: no output", []string{"trace", "record", "true"}, exitMemqos, `required flag(s) "output" not set`},
		{"record: unwritable output", []string{"trace", "record", "-o", filepath.Join(dir, "no/t.json"), "true"}, exitMemqos, "cannot create a file in"},
		{"record: no command", []string{"trace", "record", "-o", out}, exitNotFound, "memqos: no command given\n"},
		{"record: not found", []string{"trace", "record", "-o", out, "memqos-no-such-command", "-l"}, exitNotFound, "memqos: command not found: memqos-no-such-command\n"},
		{"record: not executable", []string{"trace", "record", "-o", out, plain}, exitCannotExecute, "memqos: cannot execute " + plain + ": permission denied\n"},
		{"run: no group", []string{"run", "true"}, exitMemqos, "give --cgroup PATH or --class NAME"},
		{"run: unknown flag", []string{"run", "--cgroup", "x", "--bogus", "true"}, exitMemqos, "unknown flag: --bogus"},
		{"run: no command", []string{"run", "--cgroup", "x"}, exitNotFound, "memqos: no command given\n"},
		{"run: empty command", []string{"run", "--cgroup", "x", "--", ""}, exitNotFound, "memqos: no command given\n"},
		// CMD's own flags are not memqos's, with or without "--".
		{"run: not found", []string{"run", "--cgroup", "x", "memqos-no-such-command", "-l"}, exitNotFound, "memqos: command not found: memqos-no-such-command\n"},
		{"run: not found after --", []string{"run", "--cgroup", "x", "--", "memqos-no-such-command", "-l"}, exitNotFound, "memqos: command not found: memqos-no-such-command\n"},
		{"run: not executable", []string{"run", "--cgroup", "x", plain}, exitCannotExecute, "memqos: cannot execute " + plain + ": permission denied\n"},
		{"run: a directory", []string{"run", "--cgroup", "x", dir}, exitCannotExecute, "memqos: cannot execute " + dir + ": is a directory\n"},
		{"run: bad group", []string{"run", "--cgroup", "memqos-no-such-group", "true"}, exitMemqos, "memqos: "},
		{"selftest: old flag", []string{"selftest", "--limit-mb", "120"}, exitMemqos, "unknown flag: --limit-mb"},
		{"selftest: cannot run", []string{"selftest", "--dir", filepath.Join(dir, "none")}, exitMemqos, "memqos: "},
		{"vm run: no command", []string{"vm", "run", "--kernel", filepath.Join(dir, "bzImage")}, exitNotFound, "memqos: no command given\n"},
		{"vm run: no kernel", []string{"vm", "run", "--kernel", filepath.Join(dir, "bzImage"), "true", "-l"}, exitMemqos, "memqos: "},
		{"daemon: no config", []string{"daemon"}, exitMemqos, `required flag(s) "config" not set`},
		{"daemon: bad config", []string{"daemon", "--config", badCfg}, exitMemqos, `classes[0].priority: "sideways" is not high or low (line 2)`},
		{"daemon: missing config", []string{"daemon", "--config", filepath.Join(dir, "none.yaml")}, exitMemqos, "no such file"},
		{"nri: no config", []string{"nri"}, exitMemqos, `required flag(s) "config" not set`},
		{"nri: no nri section", []string{"nri", "--config", goodCfg}, exitMemqos, goodCfg + ": no nri section"},
		{"nri: bad mapping", []string{"nri", "--config", nriBad}, exitMemqos, `nri.qos.burstable: "medium" is not a class of this configuration`},
		{"status: no daemon", []string{"status", "--state", filepath.Join(dir, "state.json")}, exitMemqos, "no memqos daemon answers on " + filepath.Join(dir, "state.json.sock")},
		{"run: class and cgroup", []string{"run", "--class", "low", "--cgroup", "x", "true"}, exitMemqos, "were all set"},
		{"run: class without config", []string{"run", "--class", "low", "--config", filepath.Join(dir, "none.yaml"), "true"}, exitMemqos, "no such file"},
		{"run: unknown class", []string{"run", "--class", "mid", "--config", goodCfg, "true"}, exitMemqos, `has no class "mid" (it has high, low)`},
		{"vm kernel: unknown", []string{"vm", "kernel", "bogus"}, exitMemqos, `unknown kernel "bogus"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testutil.RunMemqos(t, tt.args...)
			if r.Code != tt.code || !strings.Contains(r.Stderr, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.Code, r.Stderr, tt.code, tt.stderr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was written", out)
			}
		})
	}
}
