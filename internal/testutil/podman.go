package testutil

import (
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// Podman means podman runs containers here: it is on PATH and `podman
// info` reports cgroup v2. The guest suite promises it in its Debian
// rootfs guests (memqos vm run --rootfs debian), where it runs the tests
// named TestRealPodman*.
const Podman Feature = "podman"

func probePodman() error {
	if _, err := exec.LookPath("podman"); err != nil {
		return err
	}
	out, err := exec.Command("podman", "info", "--format", "{{.Host.CgroupsVersion}}").CombinedOutput()
	if err != nil {
		return fmt.Errorf("podman info: %w: %s", err, strings.TrimSpace(string(out)))
	}
	if v := strings.TrimSpace(string(out)); v != "v2" {
		return fmt.Errorf("podman reports cgroups %q, not v2", v)
	}
	return nil
}

// sandboxImage builds the sandbox image once per test binary.
var sandboxImage struct {
	once sync.Once
	name string
	err  error
}

// SandboxImage returns the name of a local sandbox image holding this
// tree's memqos binary (memqos podman image), building it on first use.
// It needs the Podman feature.
func SandboxImage(t testing.TB) string {
	t.Helper()
	Require(t, Podman)
	sandboxImage.once.Do(func() {
		name := "localhost/memqos-test-sandbox"
		r := RunMemqos(t, "podman", "image", name)
		if r.Code != 0 {
			sandboxImage.err = fmt.Errorf("memqos podman image: exit %d: %s", r.Code, r.Stderr)
			return
		}
		sandboxImage.name = name
	})
	if sandboxImage.err != nil {
		t.Fatal(sandboxImage.err)
	}
	return sandboxImage.name
}
