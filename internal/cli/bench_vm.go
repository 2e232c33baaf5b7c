package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/memqos/memqos/internal/bench"
	"github.com/memqos/memqos/internal/bpf"
	"github.com/memqos/memqos/internal/trace"
	"github.com/memqos/memqos/internal/vm"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// progressTag starts the line a bench prints after each arm when it has no
// terminal: "memqos-bench: DONE/TOTAL run N ARM WALLs STATUS". A bench in a
// guest prints them on the console, and the host reads them.
const progressTag = "memqos-bench:"

// benchVMFlags run a bench in a guest.
type benchVMFlags struct {
	kernel    string
	memMiB    int
	timeout   time.Duration
	console   bool
	tcg       string
	crashes   int
	noSummary bool // in the guest: the host prints the summary
	lines     bool // in the guest: progress as tagged lines, for the host
	resume    bool // in the guest: carry on the bench a crashed guest left
	hold      bool // in the guest: hold the memcg tracepoint (multi-threaded TCG)
}

func (f *benchVMFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.kernel, "vm", "", `run the whole bench in a qemu guest booted with this kernel image (or "debian-cloud"), and bring the results back`)
	fs.IntVar(&f.memMiB, "vm-mem-mib", 0, "guest memory, in MiB (default: the limit plus 1 GiB, at least 2 GiB)")
	fs.DurationVar(&f.timeout, "vm-timeout", 6*time.Hour, "stop the guest after this long; the results so far still come back")
	fs.BoolVar(&f.console, "vm-console", false, "stream the guest console to stderr")
	fs.StringVar(&f.tcg, "vm-tcg", vm.TCGMulti, `qemu's TCG threading: "multi" (a host thread per guest CPU) or "single" (one host thread for both)`)
	fs.IntVar(&f.crashes, "vm-crashes", 3, "after a guest crash a fresh guest resumes the bench with the next arm; give up when this many guests in a row crash without finishing an arm")
	fs.BoolVar(&f.noSummary, "no-summary", false, "do not print the summary table")
	fs.BoolVar(&f.lines, "progress-lines", false, "report progress as a line per arm, never as a bar")
	fs.BoolVar(&f.resume, "resume", false, "carry on the bench in --out that a crashed guest left")
	fs.BoolVar(&f.hold, "hold-tracepoint", false, "keep no-op probes on memcg:count_memcg_events for the whole bench, so that no daemon patches kernel text")
	for _, name := range []string{"no-summary", "progress-lines", "resume", "hold-tracepoint"} {
		_ = fs.MarkHidden(name)
	}
}

// vmFlagNames are the flags that stay on the host.
var vmFlagNames = map[string]bool{"vm": true, "vm-mem-mib": true, "vm-timeout": true, "vm-console": true, "vm-tcg": true, "vm-crashes": true,
	"out": true, "no-summary": true, "progress-lines": true, "resume": true, "hold-tracepoint": true}

// traceFlagNames are the flags that name traces; their files go into the guest.
var traceFlagNames = map[string]bool{"high": true, "low": true, "trace": true}

// variantFlag names a variant's configuration file (NAME=FILE); the file
// goes into the guest.
const variantFlag = "variant"

// runBenchVM runs the same bench command in a guest: the flags given here,
// with the trace files put into the guest and the results written to /out,
// then copied to --out. When the guest crashes, a fresh guest resumes the
// bench (runGuests).
func runBenchVM(cmd *cobra.Command, g *globals, f *benchFlags, kind string, sc bench.Scenario) error {
	if err := bench.CheckOut(f.out); err != nil {
		return err
	}
	if f.vm.crashes < 1 {
		return fmt.Errorf("--vm-crashes %d: want at least 1", f.vm.crashes)
	}
	if f.vm.tcg != vm.TCGMulti && f.vm.tcg != vm.TCGSingle {
		return fmt.Errorf("--vm-tcg %q: want %s or %s", f.vm.tcg, vm.TCGMulti, vm.TCGSingle)
	}
	cfg := vm.Config{Kernel: f.vm.kernel, CPUs: 2, Accel: "tcg", TCG: f.vm.tcg, Stdout: io.Discard,
		// An oops ends the guest, which a fresh one then replaces, rather
		// than leaving a damaged kernel to run the next arms.
		Append: []string{"oops=panic"}}
	argv, puts, err := guestBenchArgs(cmd.Flags(), kind)
	if err != nil {
		return err
	}
	held := 0
	if cfg.TCG == vm.TCGMulti {
		// The vCPUs' TSCs drift apart under MTTCG, and the clocksource
		// watchdog would switch the guest to a slower clock.
		cfg.Append = append(cfg.Append, "tsc=reliable")
		// A daemon attaching its tracepoint probe while the sessions
		// fault would patch kernel text under MTTCG: docs/bench.md.
		argv, held = append(argv, "--hold-tracepoint"), bpf.HeldProbes
	}
	cfg.Files = puts
	podmanRuntime := f.runtime == string(bench.PodmanRuntime)
	cfg.MemoryMB = guestMemMiB(f.vm.memMiB, sc, podmanRuntime)
	if err := prepareVMConfig(cmd.Context(), &cfg, nil); err != nil {
		return err
	}
	if podmanRuntime {
		if cfg.Rootfs, err = buildRootfs(cmd.Context(), guestRootfs, g.stderr); err != nil {
			return err
		}
	}
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(f.out)), ".memqos-bench-vm-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cfg.OutDir = tmp
	prog := newBenchProgress(g.stderr, false)
	var console io.Writer = &progressRelay{prog: prog}
	if f.vm.console {
		console = io.MultiWriter(g.stderr, console)
	}
	cfg.Console = console
	deadline := time.Now().Add(f.vm.timeout)
	results := filepath.Join(tmp, "results")
	boot := func(ctx context.Context, resume bool) (vm.Result, error) {
		c := cfg
		c.Timeout = time.Until(deadline)
		if c.Timeout <= 0 {
			return vm.Result{}, &vm.TimeoutError{Timeout: f.vm.timeout}
		}
		c.OutSeed = ""
		args := argv
		if resume {
			c.OutSeed, args = tmp, append(slices.Clip(argv), "--resume")
		}
		return vm.Run(ctx, c, args)
	}
	res, boots, runErr := runGuests(cmd.Context(), results, f.vm.crashes, boot, g.logger())
	prog.finish()
	lab := bench.Lab{Accel: cfg.Accel, TCG: cfg.TCG, CPUs: cfg.CPUs, Kernel: filepath.Base(cfg.Kernel), Boots: boots, HeldProbes: held}
	if err := bench.SetLab(results, lab); err != nil && !errors.Is(err, fs.ErrNotExist) {
		runErr = errors.Join(runErr, fmt.Errorf("recording the lab: %w", err))
	}
	moveErr := moveResults(results, f.out, filepath.Join(tmp, ".partial"))
	if runErr != nil {
		return errors.Join(fmt.Errorf("bench in the guest: %w", runErr), moveErr)
	}
	if moveErr != nil {
		return moveErr
	}
	if res.ExitCode != 0 {
		return &codeError{exitFailed, fmt.Errorf("the bench in the guest exited with status %d; its results so far are in %s (--vm-console shows why)", res.ExitCode, f.out)}
	}
	if f.vm.noSummary {
		return nil
	}
	return printBenchSummary(g.stdout, g.stderr, f.out)
}

// guestBoot runs one guest of a bench; resume asks it to carry on the
// bench in the results directory.
type guestBoot func(ctx context.Context, resume bool) (vm.Result, error)

// runGuests boots guests until one runs the bench to its end. After a guest
// crash (guestCrashed), the arm in progress is discarded (bench.Recover)
// and a fresh guest resumes the bench with the next arm; when maxCrashes
// guests in a row crash without finishing an arm, it gives up. It returns
// the last guest's result and how many guests it booted.
func runGuests(ctx context.Context, results string, maxCrashes int, boot guestBoot, log *slog.Logger) (vm.Result, int, error) {
	resume, done, inARow := false, 0, 0
	for boots := 1; ; boots++ {
		res, err := boot(ctx, resume)
		why, crashed := guestCrashed(err)
		if !crashed || ctx.Err() != nil {
			return res, boots, err
		}
		rec, rerr := bench.Recover(results, why)
		if rerr != nil {
			return res, boots, errors.Join(err, rerr)
		}
		inARow++
		if rec.Done > done {
			inARow = 0 // this guest finished arms before it crashed
		}
		done, resume = rec.Done, rec.Started
		for _, d := range rec.Discarded {
			log.Warn("guest crashed: arm discarded", "run", d.Run, "arm", d.Name, "why", why)
		}
		if inARow >= maxCrashes {
			return res, boots, fmt.Errorf("the guest crashed %d times in a row with no arm finished; giving up (--vm-crashes): %w", inARow, err)
		}
		log.Warn("guest crashed: resuming the bench in a fresh guest", "boot", boots+1, "arms_done", done, "why", why)
	}
}

// guestCrashed reports whether err is a guest that died under the bench
// (a kernel panic or oops, qemu failing, a guest stopping without the
// bench's status), and says how. A timeout, a signal or a failure of the
// guest's init is not a crash: a fresh guest would not do better.
func guestCrashed(err error) (string, bool) {
	var po *vm.PartialOutError
	if errors.As(err, &po) {
		err = po.Err
	}
	var pe *vm.PanicError
	var qe *vm.QemuError
	if errors.As(err, &pe) || errors.As(err, &qe) || errors.Is(err, vm.ErrNoStatus) {
		return err.Error(), true
	}
	return "", false
}

// guestRootfs is the rootfs a guest boots for --runtime podman.
const guestRootfs = "debian"

// podmanGuestMiB is the guest memory podman needs on top: its commands,
// conmon for each running container, and the containers' storage layers
// in page cache.
const podmanGuestMiB = 512

// guestMemMiB is the guest's memory: as asked, or the scenario's limit
// plus 1 GiB for the guest itself (and podmanGuestMiB with podman), at
// least 2 GiB.
func guestMemMiB(asked int, sc bench.Scenario, podman bool) int {
	if asked > 0 {
		return asked
	}
	extra := 1024
	if podman {
		extra += podmanGuestMiB
	}
	return max(2048, int(sc.TotalBytes>>20)+extra)
}

// guestBenchArgs rebuilds the bench command for the guest from the flags
// given, and lists the trace files it needs there.
func guestBenchArgs(fs *pflag.FlagSet, kind string) ([]string, []vm.File, error) {
	argv := []string{"memqos", "bench", kind, "--out", "/out/results", "--no-summary", "--progress-lines"}
	var files []vm.File
	var err error
	fs.VisitAll(func(fl *pflag.Flag) {
		if err != nil || vmFlagNames[fl.Name] || (!fl.Changed && !traceFlagNames[fl.Name]) {
			return
		}
		values := []string{fl.Value.String()}
		if sv, ok := fl.Value.(pflag.SliceValue); ok {
			values = sv.GetSlice()
		}
		for _, v := range values {
			if fl.Name == variantFlag {
				name, file, _ := strings.Cut(v, "=")
				guest := fmt.Sprintf("/work/variants/%d-%s", len(files), filepath.Base(file))
				files = append(files, vm.File{Host: file, Guest: guest})
				v = name + "=" + guest
			} else if traceFlagNames[fl.Name] && !strings.HasPrefix(v, trace.BuiltinPrefix) {
				if _, serr := os.Stat(v); serr != nil {
					err = fmt.Errorf("--%s: %w", fl.Name, serr)
					return
				}
				guest := fmt.Sprintf("/work/traces/%d-%s", len(files), filepath.Base(v))
				files = append(files, vm.File{Host: v, Guest: guest})
				v = guest
			}
			argv = append(argv, "--"+fl.Name+"="+v)
		}
	})
	return argv, files, err
}

// moveResults moves the guest's results to out, with the partial marker
// of a failed run.
func moveResults(from, out, partial string) error {
	if _, err := os.Stat(from); err != nil {
		return fmt.Errorf("the guest wrote no results: %w", err)
	}
	if err := os.Remove(out); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: %w", out, err)
	}
	if err := os.Rename(from, out); err != nil {
		return err
	}
	if b, err := os.ReadFile(partial); err == nil {
		return os.WriteFile(filepath.Join(out, ".partial"), b, 0o644)
	}
	return nil
}

// progressRelay reads the guest console for the bench's progress lines and
// shows them with the host's own progress.
type progressRelay struct {
	prog *benchProgress
	buf  bytes.Buffer
}

func (r *progressRelay) Write(p []byte) (int, error) {
	r.buf.Write(p)
	for {
		line, err := r.buf.ReadString('\n')
		if err != nil {
			r.buf.WriteString(line) // an incomplete line waits for the rest
			return len(p), nil
		}
		r.line(strings.TrimRight(line, "\r\n"))
	}
}

func (r *progressRelay) line(s string) {
	i := strings.Index(s, progressTag)
	if i < 0 {
		return
	}
	s = s[i:]
	if r.prog.bar == nil {
		fmt.Fprintln(r.prog.w, s)
		return
	}
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Split(bufio.ScanWords)
	var words []string
	for sc.Scan() {
		words = append(words, sc.Text())
	}
	if len(words) < 5 {
		return
	}
	done, total, ok := strings.Cut(words[1], "/")
	d, err1 := strconv.Atoi(done)
	t, err2 := strconv.Atoi(total)
	if !ok || err1 != nil || err2 != nil {
		return
	}
	r.prog.bar.update(d, t, strings.Join(words[2:5], " "))
}
