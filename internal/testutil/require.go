package testutil

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/memqos/memqos/internal/cgroup"
)

// Feature is something a test needs from its environment.
type Feature string

// Features that tests can require.
const (
	// Root means the test runs as uid 0.
	Root Feature = "root"
	// CgroupV2 means /sys/fs/cgroup is cgroup v2 with the memory controller.
	CgroupV2 Feature = "cgroup2"
)

// EnvRequire names the environment variable that lists, comma-separated,
// the features the environment promises.
const EnvRequire = "MEMQOS_TEST_REQUIRE"

// probes tells whether a feature is present: nil, or why not.
var probes = func() map[Feature]func() error {
	m := kernelProbes()
	for f, p := range baseProbes {
		m[f] = p
	}
	return m
}()

var baseProbes = map[Feature]func() error{
	Root: func() error {
		if os.Geteuid() != 0 {
			return errors.New("not running as root")
		}
		return nil
	},
	CgroupV2: func() error {
		_, err := cgroup.Open("")
		return err
	},
	Qemu:   probeQemu,
	Podman: probePodman,
	Kube:   probeKube,
	Rootfs: probeRootfs,
	Source: probeSource,
	SharedTraces: func() error {
		_, err := sharedTraceFiles()
		return err
	},
}

// Require skips t unless every feature is present. A missing feature that
// MEMQOS_TEST_REQUIRE promises fails t instead.
func Require(t testing.TB, features ...Feature) {
	t.Helper()
	for _, f := range features {
		probe, ok := probes[f]
		if !ok {
			t.Fatalf("testutil: unknown feature %q", f)
		}
		if err := probe(); err != nil {
			if Promised(f) {
				t.Fatalf("%s is promised by %s but missing: %v", f, EnvRequire, err)
			}
			t.Skipf("needs %s: %v", f, err)
		}
	}
}

// Promised reports whether MEMQOS_TEST_REQUIRE lists f.
func Promised(f Feature) bool {
	return slices.Contains(strings.Split(os.Getenv(EnvRequire), ","), string(f))
}
