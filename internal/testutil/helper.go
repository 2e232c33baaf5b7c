package testutil

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// envHelper names the environment variable that makes a test binary run a
// helper function instead of its tests.
const envHelper = "MEMQOS_TEST_HELPER"

// Helpers maps a helper's name to a function that runs in a child process,
// receives the arguments given to HelperCommand, and returns the exit code.
type Helpers map[string]func(args []string) int

// Main is a TestMain body: in a child started by HelperCommand it runs the
// named helper and exits with its code; otherwise it runs the tests.
func Main(m *testing.M, helpers Helpers) {
	if name := os.Getenv(envHelper); name != "" {
		fn, ok := helpers[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "testutil: no helper %q\n", name)
			os.Exit(2)
		}
		os.Exit(fn(os.Args[1:]))
	}
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// HelperEnv is the environment entry that makes a test binary run the
// helper name, for helpers that start other helpers.
func HelperEnv(name string) string { return envHelper + "=" + name }

// HelperCommand returns a command that re-executes the test binary to run
// the helper name with args, in a process of its own.
func HelperCommand(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), HelperEnv(name))
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	return cmd
}

// MapTouched maps n bytes of private anonymous memory and writes a byte
// in every 4 KiB page, so that all of it is faulted in and charged.
func MapTouched(n int) ([]byte, error) {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, fmt.Errorf("mmap %d bytes: %w", n, err)
	}
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return b, nil
}

// Exited runs script with sh -c and returns how the shell ended, for tests
// of code that reads a process's end.
func Exited(t testing.TB, script string) *os.ProcessState {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	var exit *exec.ExitError
	if err := cmd.Run(); err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return cmd.ProcessState
}

// MapHuge maps n bytes of private anonymous memory, 2 MiB-aligned and
// advised MADV_HUGEPAGE, touches every 4 KiB page, and returns the
// process's AnonHugePages in kB afterwards (0 when THP is off for it).
func MapHuge(n int) ([]byte, int, error) {
	const huge = 2 << 20
	raw, err := unix.Mmap(-1, 0, n+huge, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, 0, fmt.Errorf("mmap %d bytes: %w", n, err)
	}
	off := (huge - int(uintptr(unsafe.Pointer(&raw[0])))%huge) % huge
	b := raw[off : off+n]
	if err := unix.Madvise(b, unix.MADV_HUGEPAGE); err != nil {
		return nil, 0, fmt.Errorf("madvise MADV_HUGEPAGE: %w", err)
	}
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	smaps, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		return b, 0, err
	}
	for _, line := range strings.Split(string(smaps), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "AnonHugePages:" {
			kb, err := strconv.Atoi(f[1])
			return b, kb, err
		}
	}
	return b, 0, errors.New("no AnonHugePages in /proc/self/smaps_rollup")
}
