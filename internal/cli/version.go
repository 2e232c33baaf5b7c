package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the memqos version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(g.stdout, versionString())
			return err
		},
	}
}

// versionString describes this build from the module and VCS information
// that the Go toolchain stamps into the binary.
func versionString() string {
	version, commit := buildInfo()
	return fmt.Sprintf("memqos %s (commit %s, %s %s/%s)", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// buildInfo returns this build's module version ("devel" when unknown)
// and VCS commit ("unknown"), with "-dirty" when the tree had changes.
func buildInfo() (version, commit string) {
	version, commit = "devel", "unknown"
	dirty := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
	}
	return version, commit + dirty
}
