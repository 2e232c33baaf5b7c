package vm

import (
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"
	"time"
)

var envKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// The TCG threading modes (Config.TCG).
const (
	TCGSingle = "single"
	TCGMulti  = "multi"
)

// Config describes one guest run.
type Config struct {
	// Kernel is the path of the kernel image (bzImage or vmlinuz).
	Kernel string
	// Modules is the kernel's module directory (lib/modules/RELEASE). Empty
	// means FindModules(Kernel); a kernel with no module directory must have
	// its drivers built in.
	Modules string
	// LoadModules names extra modules to load in the guest, beyond the
	// virtio drivers the runner itself needs.
	LoadModules []string
	// MemoryMB and CPUs size the guest. Zero means 2048 and 2.
	MemoryMB int
	CPUs     int
	// Accel is "tcg" (the default) or "kvm".
	Accel string
	// TCG is how qemu's TCG runs the vCPUs (with Accel "tcg"): "single"
	// (the default), one host thread for every vCPU in turn, or "multi",
	// a host thread per vCPU. Multi-threaded TCG gives a guest several
	// host cores, but a kernel that patches its own text at run time
	// (jump labels, static calls, BPF attach) can oops under it: see
	// docs/bench.md, "The lab".
	TCG string
	// Files are copied into the guest's initramfs.
	Files []File
	// Env holds KEY=VALUE pairs set for the command.
	Env []string
	// Dir is the command's working directory in the guest; "" means /work.
	Dir string
	// OutDir receives the guest's /out directory; "" means discard it.
	OutDir string
	// OutSeed, if set, is a host directory whose contents the guest's
	// /out starts with (with OutDir set): a run can carry on from the
	// files an earlier run left. Its files are copied, not changed.
	OutSeed string
	// OutSizeMB is the size in MiB of the file system that holds /out;
	// zero means 512. The image is sparse: only what is written takes
	// host disk space.
	OutSizeMB int
	// ScratchMB, if positive, gives the guest an ext4 disk of that size on
	// a real block device, mounted at /scratch (for page cache that can be
	// reclaimed, unlike initramfs files).
	ScratchMB int
	// Rootfs, if set, is an ext4 image of a root file system (see
	// BuildRootfs) that the guest boots from instead of staying in its
	// initramfs. Each boot sees the image as built: writes go to a
	// throwaway overlay.
	Rootfs string
	// Timeout bounds the whole run, boot included; zero means 10 minutes.
	Timeout time.Duration
	// Append holds extra kernel command-line arguments.
	Append []string
	// Console receives the guest's serial console: kernel messages and the
	// command's stderr. Nil discards it.
	Console io.Writer
	// Stdout receives the command's standard output, which travels on a
	// serial port of its own. Nil sends it to Console.
	Stdout io.Writer
	// Busybox is a statically linked busybox; "" means /bin/busybox.
	Busybox string
	// Qemu is the qemu binary; "" means qemu-system-x86_64.
	Qemu string
}

// File is a host file or directory to copy into the guest.
type File struct {
	Host  string
	Guest string // absolute path in the guest
}

// ParseFile parses HOST[:GUEST]. Without GUEST, the file goes to
// /work/BASENAME.
func ParseFile(s string) (File, error) {
	host, guest, _ := strings.Cut(s, ":")
	if host == "" {
		return File{}, fmt.Errorf("put %q: empty host path", s)
	}
	if guest == "" {
		guest = path.Join("/work", path.Base(host))
	}
	if !path.IsAbs(guest) {
		return File{}, fmt.Errorf("put %q: guest path %q is not absolute", s, guest)
	}
	return File{Host: host, Guest: path.Clean(guest)}, nil
}

func (c *Config) withDefaults() Config {
	d := *c
	if d.MemoryMB == 0 {
		d.MemoryMB = 2048
	}
	if d.CPUs == 0 {
		d.CPUs = 2
	}
	if d.Accel == "" {
		d.Accel = "tcg"
	}
	if d.TCG == "" {
		d.TCG = TCGSingle
	}
	if d.Dir == "" {
		d.Dir = "/work"
	}
	if d.OutSizeMB == 0 {
		d.OutSizeMB = 512
	}
	if d.Timeout == 0 {
		d.Timeout = 10 * time.Minute
	}
	if d.Console == nil {
		d.Console = io.Discard
	}
	if d.Stdout == nil {
		d.Stdout = d.Console
	}
	if d.Busybox == "" {
		d.Busybox = "/bin/busybox"
	}
	if d.Qemu == "" {
		d.Qemu = "qemu-system-x86_64"
	}
	return d
}

func (c *Config) validate() error {
	switch c.Accel {
	case "tcg", "kvm":
	default:
		return fmt.Errorf("accel %q: want tcg or kvm", c.Accel)
	}
	switch c.TCG {
	case TCGSingle, TCGMulti:
	default:
		return fmt.Errorf("tcg threading %q: want %s or %s", c.TCG, TCGSingle, TCGMulti)
	}
	if c.MemoryMB < 128 || c.CPUs < 1 || c.OutSizeMB < 1 || c.ScratchMB < 0 {
		return fmt.Errorf("guest size out of range: %d MB, %d CPUs, out %d MB, scratch %d MB", c.MemoryMB, c.CPUs, c.OutSizeMB, c.ScratchMB)
	}
	for _, kv := range c.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || !envKey.MatchString(k) {
			return fmt.Errorf("env %q: want KEY=VALUE with KEY a shell variable name", kv)
		}
	}
	return nil
}
