// Package thp controls transparent huge pages for workloads memqos starts.
//
// The memcg_bpf_ops charge delay is applied only when a charge may block,
// and THP faults are charged with non-blocking gfp, so a workload whose
// memory is THP-backed escapes the delay. Disabling THP for LOW workloads
// (PR_SET_THP_DISABLE, inherited across fork and execve) closes that gap.
package thp

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// DisableForProcess sets PR_SET_THP_DISABLE on the calling process. The
// flag is inherited by every child it starts afterwards and survives
// execve, which is how memqos starts LOW workloads without THP.
func DisableForProcess() error {
	if err := unix.Prctl(unix.PR_SET_THP_DISABLE, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_THP_DISABLE): %w", err)
	}
	return nil
}

// Disabled reports whether THP is disabled for the calling process.
func Disabled() (bool, error) {
	v, err := unix.PrctlRetInt(unix.PR_GET_THP_DISABLE, 0, 0, 0, 0)
	if err != nil {
		return false, fmt.Errorf("prctl(PR_GET_THP_DISABLE): %w", err)
	}
	return v == 1, nil
}

// Mode returns the system THP mode ("always", "madvise" or "never") from
// sysRoot/kernel/mm/transparent_hugepage/enabled ("" means /sys).
func Mode(sysRoot string) (string, error) {
	if sysRoot == "" {
		sysRoot = "/sys"
	}
	p := filepath.Join(sysRoot, "kernel/mm/transparent_hugepage/enabled")
	b, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	for _, f := range strings.Fields(string(b)) {
		if strings.HasPrefix(f, "[") && strings.HasSuffix(f, "]") {
			return strings.Trim(f, "[]"), nil
		}
	}
	return "", fmt.Errorf("%s: no [selected] mode in %q", p, strings.TrimSpace(string(b)))
}
