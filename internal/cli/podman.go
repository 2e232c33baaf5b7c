package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/memqos/memqos/internal/podman"
	"github.com/memqos/memqos/internal/vm"
	"github.com/spf13/cobra"
)

func newPodmanCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "podman",
		Short: "Work with podman containers as agent sandboxes",
	}
	cmd.AddCommand(newPodmanImageCmd(g))
	return cmd
}

func newPodmanImageCmd(g *globals) *cobra.Command {
	var busybox string
	cmd := &cobra.Command{
		Use:   "image [NAME]",
		Short: "Build a local sandbox image holding this memqos binary, without a registry",
		Long: `Build a container image NAME (default ` + podman.DefaultImage + `) with
podman import, from local files only: this memqos binary as /bin/memqos and,
unless --busybox is "", a static busybox as /bin/busybox with its applets,
so that the image has /bin/sh. Nothing is pulled, so it works offline.

Sessions in the image can replay traces (memqos trace replay --cgroup self)
or run any static tool you add. For your own agent images, see
docs/containers.md: memqos governs any container by its cgroup, whatever
its image.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := podman.DefaultImage
			if len(args) == 1 {
				name = args[0]
			}
			if err := buildSandboxImage(cmd.Context(), name, busybox); err != nil {
				return err
			}
			_, err := fmt.Fprintln(g.stdout, name)
			return err
		},
	}
	cmd.Flags().StringVar(&busybox, "busybox", defaultBusybox, `static busybox to install as the image's shell and tools ("" for none; apt install busybox-static)`)
	return cmd
}

// defaultBusybox is where Debian's busybox-static installs busybox.
const defaultBusybox = "/bin/busybox"

// buildSandboxImage builds the sandbox image name from this memqos binary
// and, unless busybox is "", a static busybox.
func buildSandboxImage(ctx context.Context, name, busybox string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locate the memqos binary: %w", err)
	}
	files := podman.ImageFiles{Memqos: self, Busybox: busybox}
	for _, bin := range []string{files.Memqos, files.Busybox} {
		if bin == "" {
			continue
		}
		if err := vm.CheckStatic(bin); err != nil {
			return fmt.Errorf("the image has no libraries: %w", err)
		}
	}
	return podman.BuildImage(ctx, name, files)
}
