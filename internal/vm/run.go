package vm

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// Result is the outcome of a guest run whose command reported its status.
type Result struct {
	// ExitCode is the command's exit status in the guest.
	ExitCode int
	// Elapsed is the wall time of the whole run, boot included.
	Elapsed time.Duration
}

// TimeoutError means the guest did not finish within the configured time.
type TimeoutError struct{ Timeout time.Duration }

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("guest did not finish within %v; qemu was killed", e.Timeout)
}

// PanicError means the guest kernel panicked. Oops is the first oops
// line the console showed before, if any ("Oops: int3: 0000 [#1] SMP"):
// with oops=panic on the command line, every oops ends in a panic.
type PanicError struct{ Line, Oops string }

func (e *PanicError) Error() string {
	if e.Oops != "" {
		return "guest kernel panic: " + e.Line + " (after " + e.Oops + ")"
	}
	return "guest kernel panic: " + e.Line
}

// QemuError means qemu itself exited with an error before the guest
// reported the command's status; Stderr is what qemu printed.
type QemuError struct {
	Err    error
	Stderr string
}

func (e *QemuError) Error() string {
	if e.Stderr == "" {
		return fmt.Sprintf("qemu failed: %v", e.Err)
	}
	return fmt.Sprintf("qemu failed: %v: %s", e.Err, e.Stderr)
}

func (e *QemuError) Unwrap() error { return e.Err }

// GuestError is a failure the guest's init reported, such as a missing
// disk or a module that did not load.
type GuestError struct{ Msg string }

func (e *GuestError) Error() string { return "guest init: " + e.Msg }

// ErrNoStatus means the guest stopped without reporting the command's
// exit status.
var ErrNoStatus = errors.New("guest stopped without reporting the command's exit status")

// stdoutSock is the socket, in the run's temporary directory, on which
// qemu delivers the guest's second serial port: the command's stdout.
const stdoutSock = "stdout.sock"

// baseModules are the drivers the runner's disks need when they are
// modules rather than built in.
var baseModules = []string{"virtio_pci", "virtio_blk"}

// Run boots cfg.Kernel in a qemu guest and runs argv there. It returns the
// command's exit status in Result; err is set only when the run itself
// failed. Whatever happens, the qemu process is gone when Run returns.
//
// With cfg.OutDir set, the guest's /out is copied there even when the run
// fails once the guest has booted (timeout, panic, cancelled ctx): the
// error is then a *PartialOutError and OutDir holds a partial marker.
func Run(ctx context.Context, cfg Config, argv []string) (Result, error) {
	c := cfg.withDefaults()
	start := time.Now()
	if err := c.validate(); err != nil {
		return Result{}, err
	}
	if len(argv) == 0 {
		return Result{}, errors.New("no command to run in the guest")
	}
	tmp, err := os.MkdirTemp("", "memqos-vm-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(tmp)
	args, nonce, err := prepare(ctx, &c, tmp, argv)
	if err != nil {
		return Result{}, err
	}
	con, err := boot(ctx, &c, args, nonce, filepath.Join(tmp, stdoutSock))
	if c.OutDir != "" && con != nil {
		err = finishOut(&c, tmp, err, con.didFlush())
	}
	if err != nil {
		return Result{}, err
	}
	return Result{ExitCode: con.status, Elapsed: time.Since(start)}, nil
}

// finishOut copies the guest's /out to c.OutDir after qemu has stopped,
// and marks it partial when the run failed with runErr; flushed says
// whether the guest confirmed a last sync of /out. It returns the run's
// outcome: nil, runErr wrapped in a *PartialOutError, or the copy's own
// failure.
func finishOut(c *Config, tmp string, runErr error, flushed bool) error {
	// The copy must happen even when ctx is already cancelled.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	img := filepath.Join(tmp, "out.img")
	if err := copyOut(ctx, img, c.OutDir, tmp, runErr != nil); err != nil {
		err = fmt.Errorf("copy guest /out to %s: %w", c.OutDir, err)
		if runErr != nil {
			return fmt.Errorf("%w; and %w", runErr, err)
		}
		return err
	}
	if runErr == nil {
		if err := os.Remove(filepath.Join(c.OutDir, partialMarker)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	pe := &PartialOutError{Dir: c.OutDir, Err: runErr, Flushed: flushed}
	if err := pe.mark(); err != nil {
		return fmt.Errorf("%w; and marking %s partial: %w", runErr, c.OutDir, err)
	}
	return pe
}

// prepare checks the inputs and writes the initramfs and disks into tmp. It
// returns qemu's arguments and the run's nonce.
func prepare(ctx context.Context, c *Config, tmp string, argv []string) ([]string, string, error) {
	if _, err := os.Stat(c.Kernel); err != nil {
		return nil, "", fmt.Errorf("kernel image: %w", err)
	}
	if err := CheckStatic(c.Busybox); err != nil {
		return nil, "", fmt.Errorf("busybox: %w", err)
	}
	if c.Rootfs != "" {
		if _, err := os.Stat(c.Rootfs); err != nil {
			return nil, "", fmt.Errorf("rootfs image: %w", err)
		}
	}
	mods, err := modulesFor(c)
	if err != nil {
		return nil, "", err
	}
	nonce, err := newNonce()
	if err != nil {
		return nil, "", err
	}
	initrd := filepath.Join(tmp, "initramfs.cpio")
	if err := writeInitramfs(initrd, c, nonce, mods, argv); err != nil {
		return nil, "", err
	}
	args := append(qemuArgs(c, initrd), "-serial", "unix:"+filepath.Join(tmp, stdoutSock))
	if c.OutDir != "" {
		img := filepath.Join(tmp, "out.img")
		if err := makeOutDisk(ctx, img, c.OutSizeMB, c.OutSeed); err != nil {
			return nil, "", err
		}
		args = append(args, diskArgs("out", img, outSerial)...)
	}
	if c.Rootfs != "" {
		// snapshot=on: the guest's writes go to a throwaway overlay, so
		// every boot starts from the pristine image.
		args = append(args,
			"-drive", fmt.Sprintf("file=%s,if=none,id=rootfs,format=raw,snapshot=on,cache=unsafe", c.Rootfs),
			"-device", "virtio-blk-pci,drive=rootfs,serial="+rootfsSerial)
	}
	if c.ScratchMB > 0 {
		img := filepath.Join(tmp, "scratch.img")
		if err := makeExt4(ctx, img, c.ScratchMB); err != nil {
			return nil, "", err
		}
		args = append(args, diskArgs("scratch", img, scratchSerial)...)
	}
	return args, nonce, nil
}

// modulesFor returns the host paths of the modules to load, in order.
func modulesFor(c *Config) ([]string, error) {
	dir := c.Modules
	if dir == "" {
		dir = FindModules(c.Kernel)
	}
	if dir == "" {
		if len(c.LoadModules) > 0 {
			return nil, fmt.Errorf("cannot load modules %v: no module directory for kernel %s", c.LoadModules, c.Kernel)
		}
		return nil, nil // every driver must be built in
	}
	ms, err := loadModuleSet(dir)
	if err != nil {
		return nil, err
	}
	return ms.resolve(append(append([]string{}, baseModules...), c.LoadModules...))
}

func writeInitramfs(dst string, c *Config, nonce string, mods, argv []string) error {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	r := newInitramfs(w)
	var guestMods []string
	for _, m := range mods {
		g := "/memqos-vm/modules/" + filepath.Base(m)
		if err := r.addFile(g, m); err != nil {
			return fmt.Errorf("module %s: %w", m, err)
		}
		guestMods = append(guestMods, g)
	}
	o := initOptions{nonce: nonce, modules: guestMods, out: c.OutDir != "", scratch: c.ScratchMB > 0, rootfs: c.Rootfs != ""}
	init, path := "/init", ""
	if o.rootfs {
		for _, file := range c.Files {
			o.puts = append(o.puts, file.Guest)
		}
		init, path = rootfsInit, rootfsPath
		err = r.addBytes("/init", 0o755, []byte(buildStage1(o)))
	}
	err = errors.Join(err,
		r.addFile("/bin/busybox", c.Busybox),
		r.addBytes(init, 0o755, []byte(buildInit(o))),
		r.addBytes("/memqos-vm/cmd", 0o755, []byte(buildCmd(c.Dir, path, c.Env, argv))),
		r.mkdirAll("/work"),
		r.mkdirAll("/out"),
	)
	if err != nil {
		return fmt.Errorf("build initramfs: %w", err)
	}
	for _, file := range c.Files {
		if err := r.addTree(file.Guest, file.Host); err != nil {
			return fmt.Errorf("put %s: %w", file.Host, err)
		}
	}
	if err := r.Close(); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func qemuArgs(c *Config, initrd string) []string {
	cpu, accel := "max", "tcg,thread="+c.TCG
	if c.Accel == "kvm" {
		cpu, accel = "host", "kvm"
	}
	// no_timer_check: on a busy host a TCG guest's vCPU can miss the
	// timer interrupts the kernel waits for at boot, which then panics
	// with "IO-APIC + timer doesn't work!".
	cmdline := append([]string{"console=ttyS0", "panic=-1", "quiet", "no_timer_check"}, c.Append...)
	return []string{
		"-accel", accel, "-cpu", cpu,
		"-m", fmt.Sprint(c.MemoryMB), "-smp", fmt.Sprint(c.CPUs), "-mem-prealloc",
		"-kernel", c.Kernel, "-initrd", initrd,
		"-append", strings.Join(cmdline, " "),
		"-nodefaults", "-no-user-config", "-display", "none",
		"-serial", "stdio", "-monitor", "none", "-no-reboot",
	}
}

func diskArgs(id, img, serial string) []string {
	return []string{
		"-drive", fmt.Sprintf("file=%s,if=none,id=%s,format=raw,cache=unsafe", img, id),
		"-device", fmt.Sprintf("virtio-blk-pci,drive=%s,serial=%s", id, serial),
	}
}

func makeSparse(path string, mb int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := f.Truncate(int64(mb) << 20); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// makeExt4 creates an ext4 file system of mb MiB in the file path, with
// extra options for mkfs.ext4.
func makeExt4(ctx context.Context, path string, mb int, opts ...string) error {
	mkfs, err := exec.LookPath("mkfs.ext4")
	if err != nil {
		return fmt.Errorf("scratch disk needs mkfs.ext4 (apt install e2fsprogs): %w", err)
	}
	if err := makeSparse(path, mb); err != nil {
		return err
	}
	args := append(append([]string{"-q", "-F"}, opts...), path)
	out, err := exec.CommandContext(ctx, mkfs, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mkfs.ext4 %s: %w: %s", path, err, out)
	}
	return nil
}

func newNonce() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// copyStdout accepts qemu's connection to ln and copies what arrives, the
// guest command's stdout, to w until qemu closes it. It returns at once if
// ln is closed before qemu connects.
func copyStdout(ln net.Listener, w io.Writer) {
	conn, err := ln.Accept()
	if err != nil {
		return
	}
	defer conn.Close()
	io.Copy(w, conn)
}

// flushWait bounds how long the host waits, before it stops a guest on a
// timeout or a signal, for the guest to write /out to its disk.
const flushWait = 10 * time.Second

// console follows the guest's serial console.
type console struct {
	statusRE   *regexp.Regexp
	errorTag   string
	flushedTag string
	status     int
	reported   bool
	guestErr   string
	panic      string
	oops       string
	// flushed is closed when the guest acknowledges a flush request.
	flushed chan struct{}
}

// didFlush reports whether the guest acknowledged a flush request.
func (con *console) didFlush() bool {
	select {
	case <-con.flushed:
		return true
	default:
		return false
	}
}

// line handles one console line and reports whether to show it.
func (con *console) line(s string) bool {
	if m := con.statusRE.FindStringSubmatch(s); m != nil {
		fmt.Sscan(m[1], &con.status)
		con.reported = true
		return false
	}
	if strings.Contains(s, con.flushedTag) {
		if !con.didFlush() {
			close(con.flushed)
		}
		return false
	}
	if i := strings.Index(s, con.errorTag); i >= 0 {
		con.guestErr = strings.TrimSpace(s[i+len(con.errorTag):])
	}
	if i := strings.Index(s, "Oops: "); i >= 0 && con.oops == "" {
		con.oops = strings.TrimSpace(s[i:])
	}
	if i := strings.Index(s, "Kernel panic - not syncing"); i >= 0 && con.panic == "" {
		con.panic = strings.TrimSpace(s[i:])
	}
	return true
}

// boot runs qemu to the end and interprets the console. Once qemu has
// started, the console is returned even with an error.
func boot(ctx context.Context, c *Config, args []string, nonce, sock string) (*console, error) {
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("listen for the guest's stdout: %w", err)
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		copyStdout(ln, c.Stdout)
	}()
	defer func() { ln.Close(); <-copied }()
	cmd := exec.Command(c.Qemu, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", c.Qemu, err)
	}
	con := &console{
		statusRE:   regexp.MustCompile(regexp.QuoteMeta(statusTag+nonce) + ` (\d+)`),
		errorTag:   errorTag + nonce,
		flushedTag: flushedTag + nonce,
		flushed:    make(chan struct{}),
	}
	done := make(chan struct{})
	stopped := make(chan error, 1)
	go func() { stopped <- watch(ctx, c, cmd.Process.Pid, stdin, con.flushed, done) }()
	rd := bufio.NewReaderSize(stdout, 64<<10)
	for {
		s, err := rd.ReadString('\n')
		if s != "" && con.line(strings.TrimRight(s, "\r\n")) {
			fmt.Fprintln(c.Console, strings.TrimRight(s, "\r\n"))
		}
		if err != nil {
			break
		}
	}
	werr := cmd.Wait()
	close(done)
	why := <-stopped
	switch {
	case why != nil:
		return con, why
	case con.panic != "":
		return con, &PanicError{Line: con.panic, Oops: con.oops}
	case con.guestErr != "":
		return con, &GuestError{Msg: con.guestErr}
	case werr != nil:
		return con, &QemuError{Err: werr, Stderr: strings.TrimSpace(stderr.String())}
	case !con.reported:
		return con, ErrNoStatus
	}
	return con, nil
}

// watch stops qemu (process group pgid) when ctx is done or the run's
// timeout passes, unless done is closed first; it returns why it stopped
// qemu, or nil. With an output disk, it first asks the guest to flush /out
// through stdin and waits up to flushWait for the acknowledgement.
func watch(ctx context.Context, c *Config, pgid int, stdin io.Writer, flushed, done <-chan struct{}) error {
	timer := time.NewTimer(c.Timeout)
	defer timer.Stop()
	var why error
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		why = ctx.Err()
		if cause := context.Cause(ctx); cause != why {
			why = fmt.Errorf("%w: %w", cause, why) // such as the signal that stopped memqos
		}
	case <-timer.C:
		why = &TimeoutError{Timeout: c.Timeout}
	}
	if c.OutDir != "" {
		fmt.Fprintln(stdin, flushRequest)
		select {
		case <-flushed:
		case <-done:
		case <-time.After(flushWait):
		}
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	return why
}
