package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/memqos/memqos/internal/proc"
	"github.com/memqos/memqos/internal/vm"
	"github.com/spf13/cobra"
)

// debianAlias names the Debian cloud kernel, fetched on first use.
const debianAlias = "debian-cloud"

func newVMCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vm",
		Short: "Run commands in a throwaway qemu guest with a chosen kernel",
	}
	cmd.AddCommand(newVMRunCmd(g), newVMKernelCmd(g))
	return cmd
}

func newVMRunCmd(g *globals) *cobra.Command {
	var (
		cfg    vm.Config
		puts   []string
		rootfs string
		quiet  bool
	)
	cmd := &cobra.Command{
		Use:   "run --kernel PATH [flags] CMD [ARGS...]",
		Short: "Boot a kernel in qemu and run CMD in the guest",
		Long: `Boot a kernel in a throwaway qemu guest and run CMD there as root.

The guest's initramfs holds busybox (static), this memqos binary as
/bin/memqos, and every --put file. Its /init mounts proc, sysfs, devtmpfs,
cgroup2 on /sys/fs/cgroup (with +memory +cpu +io +pids for children), bpffs
and tracefs, links /dev/stdout and the like into /proc/self/fd, loads the kernel's virtio modules when they are not built in,
and runs CMD in /work. The guest console streams to stderr. The files CMD
leaves in /out are copied to --out, even when the run fails (timeout, panic,
SIGINT or SIGTERM of memqos): the guest syncs /out every 2 s and once more
before it is stopped, and a failed run's copy is marked by --out/.partial,
which says why. CMD's stdout arrives on memqos's stdout, over a serial port
of its own; its stderr is part of the console.

--kernel takes a kernel image path, or "debian-cloud" for Debian's cloud
kernel, which is downloaded with apt-get on first use and cached.

--rootfs debian boots the guest from a Debian root file system with podman
(crun, conmon, the cgroupfs manager, no network by default) and a static
busybox, instead of staying in the initramfs; "debian:PKG,PKG" adds
packages. It is built with mmdebstrap from the host's apt sources on first
use (as root) and cached by its package list; every boot starts from the
image as built. Everything above holds there too. See docs/containers.md.

Flags after CMD are CMD's own; "--" before CMD is optional.

memqos exits with CMD's exit status, or with 125 if the run itself failed:
missing kernel, kernel panic, timeout; 127 if no CMD is given.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 || args[0] == "" {
				return &proc.StartError{Code: proc.ExitNotFound}
			}
			if err := prepareVMConfig(cmd.Context(), &cfg, puts); err != nil {
				return &codeError{exitMemqos, err}
			}
			if rootfs != "" {
				img, err := buildRootfs(cmd.Context(), rootfs, g.stderr)
				if err != nil {
					return &codeError{exitMemqos, err}
				}
				cfg.Rootfs = img
			}
			cfg.Stdout = g.stdout
			if !quiet {
				cfg.Console = g.stderr
			}
			res, err := vm.Run(cmd.Context(), cfg, args)
			if err != nil {
				return &codeError{exitMemqos, err}
			}
			g.logger().Debug("guest finished", "exit", res.ExitCode, "elapsed", res.Elapsed)
			if res.ExitCode != 0 {
				return &ExitError{Code: res.ExitCode}
			}
			return nil
		},
	}
	cmd.Flags().SetInterspersed(false)
	f := cmd.Flags()
	f.StringVar(&cfg.Kernel, "kernel", "", `kernel image, or "debian-cloud" (required)`)
	f.StringVar(&cfg.Modules, "modules", "", "kernel module directory (default: found next to the kernel)")
	f.StringSliceVar(&cfg.LoadModules, "module", nil, "extra kernel module to load in the guest (repeatable)")
	f.IntVar(&cfg.MemoryMB, "mem-mib", 2048, "guest memory, in MiB")
	f.IntVar(&cfg.CPUs, "cpus", 2, "guest CPUs")
	f.StringVar(&cfg.Accel, "accel", "tcg", "qemu accelerator: tcg or kvm")
	f.StringVar(&cfg.TCG, "tcg", vm.TCGSingle, `TCG threading: "single" (one host thread for all vCPUs) or "multi" (a thread per vCPU; see docs/bench.md, "The lab")`)
	f.StringArrayVar(&puts, "put", nil, "HOST[:GUEST] file or directory to copy into the guest (default GUEST: /work/BASENAME)")
	f.StringArrayVar(&cfg.Env, "env", nil, "KEY=VALUE to set for CMD (repeatable)")
	f.StringVar(&cfg.OutDir, "out", "", "directory that receives the guest's /out")
	f.IntVar(&cfg.OutSizeMB, "out-size-mib", 512, "size of the guest's /out file system, in MiB")
	f.IntVar(&cfg.ScratchMB, "scratch-mib", 0, "give the guest an ext4 disk at /scratch of this many MiB")
	f.DurationVar(&cfg.Timeout, "timeout", 10*time.Minute, "kill the guest after this long, boot included")
	f.StringArrayVar(&cfg.Append, "append", nil, "extra kernel command-line argument (repeatable)")
	f.StringVar(&rootfs, "rootfs", "", `boot from a Debian rootfs with podman: "debian", or "debian:PKG,PKG" for more packages (built with mmdebstrap on first use and cached)`)
	f.BoolVarP(&quiet, "quiet", "q", false, "do not stream the guest console (CMD's stdout still arrives)")
	_ = cmd.MarkFlagRequired("kernel")
	return cmd
}

// prepareVMConfig resolves the kernel and the files to put in the guest,
// this memqos binary among them.
func prepareVMConfig(ctx context.Context, cfg *vm.Config, puts []string) error {
	if cfg.Kernel == debianAlias {
		k, err := vm.FetchDebianKernel(ctx, kernelCacheDir())
		if err != nil {
			return fmt.Errorf("fetch the Debian cloud kernel: %w", err)
		}
		cfg.Kernel = k
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locate the memqos binary: %w", err)
	}
	if err := vm.CheckStatic(self); err != nil {
		return fmt.Errorf("memqos itself must run in the guest: %w", err)
	}
	cfg.Files = append(cfg.Files, vm.File{Host: self, Guest: "/bin/memqos"})
	for _, p := range puts {
		f, err := vm.ParseFile(p)
		if err != nil {
			return err
		}
		if _, err := os.Stat(f.Host); err != nil {
			return fmt.Errorf("put: %w", err)
		}
		cfg.Files = append(cfg.Files, f)
	}
	return nil
}

// buildRootfs returns the image of the rootfs spec, building it on first
// use.
func buildRootfs(ctx context.Context, spec string, log io.Writer) (string, error) {
	r, err := vm.ParseRootfs(spec)
	if err != nil {
		return "", err
	}
	return vm.BuildRootfs(ctx, vm.RootfsCacheDir(), r, log)
}

// kernelCacheDir is where the Debian cloud kernel is cached.
func kernelCacheDir() string { return filepath.Join(vm.KernelCacheDir(), debianAlias) }

func newVMKernelCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "kernel debian-cloud",
		Short: "Fetch a guest kernel into the cache and print its path",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != debianAlias {
				return fmt.Errorf("unknown kernel %q: only %q can be fetched", args[0], debianAlias)
			}
			k, err := vm.FetchDebianKernel(cmd.Context(), kernelCacheDir())
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(g.stdout, k)
			return err
		},
	}
}
