package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/memqos/memqos/internal/bench"
	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/kernel"
	"github.com/memqos/memqos/internal/podman"
	"github.com/memqos/memqos/internal/vm"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newBenchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure isolation and overhead, in cgroups here or in a guest (--vm)",
		Long: `Run the experiments behind docs/RESULTS.md. Results go to a directory that
memqos report turns into tables and plots; bench prints the summary table
at the end. Both need root and cgroup v2 with the memory controller, or
--vm KERNEL to run the whole bench in a throwaway qemu guest.`,
	}
	cmd.AddCommand(newBenchIsolationCmd(g), newBenchOverheadCmd(g))
	return cmd
}

// benchFlags are the flags both benches share.
type benchFlags struct {
	out        string
	runs       int
	strategies string
	speed      float64
	baseMB     float64
	thp        bool
	seed       uint64
	armTimeout time.Duration
	parent     string
	runtime    string
	// variants are --variant NAME=FILE (isolation).
	variants []string
	vm       benchVMFlags
}

// parseVariants reads --variant NAME=FILE: each file a daemon
// configuration with classes high and low, run as an arm of its own.
func parseVariants(flags []string) ([]bench.Variant, error) {
	var out []bench.Variant
	for _, f := range flags {
		name, file, ok := strings.Cut(f, "=")
		if !ok || name == "" || file == "" {
			return nil, fmt.Errorf("--variant %q: want NAME=FILE", f)
		}
		text, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--variant %s: %w", name, err)
		}
		v, err := bench.ParseVariant(name, text)
		if err != nil {
			return nil, fmt.Errorf("--variant %s (%s): %w", name, file, err)
		}
		if slices.ContainsFunc(out, func(x bench.Variant) bool { return x.Name == name }) {
			return nil, fmt.Errorf("--variant %s: given twice", name)
		}
		out = append(out, v)
	}
	return out, nil
}

func (f *benchFlags) register(fs *pflag.FlagSet, runs int, strategies string) {
	fs.StringVarP(&f.out, "out", "o", "", "results directory, new or empty (required)")
	fs.IntVar(&f.runs, "runs", runs, "runs; each runs every arm once, in its own shuffled order")
	fs.StringVar(&f.strategies, "strategies", strategies, `comma-separated strategies, or "all": every one this kernel can run`)
	fs.Float64Var(&f.speed, "speed", 50, "replay speed factor")
	fs.Float64Var(&f.baseMB, "base-mb", bench.DefaultBaseBytes/1e6, "memory added to every sample of a trace, in decimal MB (1 MB = 1,000,000 bytes)")
	fs.BoolVar(&f.thp, "thp", false, "leave transparent huge pages at the system's setting in the replayers (default: off, as THP faults are never delayed by the RFC)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the arms' order in each run")
	fs.DurationVar(&f.armTimeout, "arm-timeout", 15*time.Minute, "interrupt an arm's replays after this long")
	fs.StringVar(&f.parent, "cgroup", "memqos-bench", "the bench's cgroup, relative to the cgroup2 mount; each arm runs in a fresh group below it")
	fs.StringVar(&f.runtime, "runtime", string(bench.ProcessRuntime), `how sessions run: "process", or "podman": each in a container of a sandbox image built from this memqos (needs podman; with --vm, the guest boots a Debian rootfs with podman)`)
	f.vm.register(fs)
	_ = cobra.MarkFlagRequired(fs, "out")
}

// run completes sc with the flags both benches share, and runs the bench
// kind here, or in a guest with --vm.
func (f *benchFlags) run(cmd *cobra.Command, g *globals, kind string, sc bench.Scenario, runFn func(context.Context, bench.Options) error, daemonOnly bool) error {
	base, err := baseBytes(f.baseMB)
	if err != nil {
		return err
	}
	sc.Speed, sc.BaseBytes, sc.THP = f.speed, base, f.thp
	if kind == "isolation" {
		// The preset whose setup this is, whichever flags made it
		// (bench.Scenario.Preset); the speed may be another.
		sc.Name = "custom"
		if p, ok := sc.Preset(); ok {
			sc.Name = p.Name
		}
	}
	rt, err := bench.ParseRuntime(f.runtime)
	if err != nil {
		return err
	}
	variants, err := parseVariants(f.variants)
	if err != nil {
		return err
	}
	if f.vm.kernel != "" {
		return runBenchVM(cmd, g, f, kind, sc)
	}
	if _, err := exec.LookPath(podman.Binary); err != nil && rt == bench.PodmanRuntime {
		return fmt.Errorf("--runtime podman needs podman (%w); in a guest use --vm KERNEL, which then boots a Debian rootfs with podman", err)
	}
	return runBench(cmd, g, f, sc, variants, runFn, daemonOnly)
}

func newBenchIsolationCmd(g *globals) *cobra.Command {
	var (
		f        benchFlags
		preset   string
		totalMB  int
		high     []string
		low      []string
		highIdle bool
	)
	cmd := &cobra.Command{
		Use:   "isolation --out DIR [flags]",
		Short: "Compare isolation strategies on HIGH and LOW trace replays under one memory limit",
		Long: `Replay HIGH and LOW traces at once under one memory limit (memory.max of
their parent, swap off), once per strategy and run, and measure what each
strategy does to HIGH's speed and latency and to LOW's survival and speed.
Each run also replays the HIGH traces alone and each LOW trace alone, the
baselines of the slowdowns. Arms run in a shuffled order in each run, so
that drift hits them alike; an OOM-killed replay is a result, not an abort.

Strategies: none (no isolation), static (memory.max = total/N each),
high-only (LOW memory.high=400M only), reference (the reference
experiment's policy, on memcg_bpf_ops), structops (memqos's default policy
on memcg_bpf_ops), cgroupfs (memqos's default policy on a stock kernel).

--runtime podman runs every session as a podman container below its class
group, replaying its trace with memqos trace replay --cgroup self; the rest
of the bench is the same (docs/bench.md).

--scenario picks a named scenario: its traces, base, limit and speed
(docs/bench.md). 1, 2, 3 and idle replay HIGH builtin:dask__dask-11628 and
two LOW builtin:sigmavirus24__github3.py-673, 100 MB added to every
sample; low-over-cap, low-spike and high-bursty replay traces chosen to
break policies. --high, --low, --base-mb, --total-mb, --speed and
--high-idle given explicitly override the scenario's. Default: scenario 1.`,
		Args: cobra.NoArgs,
		// PreRunE fills the flags not given from the preset, so that
		// what runs, here or in a guest (--vm, which gets the traces as
		// flags), is the preset's setup.
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			p, ok := bench.LookupPreset(preset)
			if !ok {
				return fmt.Errorf("--scenario %q: want one of %s", preset, bench.PresetNames())
			}
			fl := cmd.Flags()
			if !fl.Changed("high") {
				high = slices.Clone(p.High)
			}
			if !fl.Changed("low") {
				low = slices.Clone(p.Low)
			}
			if !fl.Changed("base-mb") {
				f.baseMB = float64(p.BaseBytes) / 1e6
			}
			if !fl.Changed("total-mb") {
				totalMB = p.TotalMB
			}
			if !fl.Changed("speed") {
				f.speed = p.Speed
			}
			if !fl.Changed("high-idle") {
				highIdle = p.HighIdle
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if totalMB <= 0 || int64(totalMB) > math.MaxInt64/1_000_000 {
				return fmt.Errorf("--total-mb %d: want a positive size", totalMB)
			}
			// f.run names the scenario by its setup.
			sc := bench.Scenario{TotalBytes: int64(totalMB) * 1e6, High: high, Low: low, HighIdle: highIdle}
			return f.run(cmd, g, "isolation", sc, bench.Isolation, false)
		},
	}
	fs := cmd.Flags()
	f.register(fs, 5, "all")
	fs.StringVar(&preset, "scenario", "1", "named scenario: "+bench.PresetNames()+" (see above)")
	fs.IntVar(&totalMB, "total-mb", 1100, "memory.max of the sessions' parent, in decimal MB")
	fs.StringArrayVar(&high, "high", slices.Clone(bench.DefaultHigh), "HIGH session's trace (repeatable; a path or builtin:NAME)")
	fs.StringArrayVar(&low, "low", slices.Clone(bench.DefaultLow), "LOW session's trace (repeatable)")
	fs.BoolVar(&highIdle, "high-idle", false, "HIGH takes its trace's peak and holds it without allocating while LOW runs")
	fs.StringArrayVar(&f.variants, "variant", nil, "NAME=FILE: also run the daemon on the configuration FILE (classes high and low) as an arm NAME, in the same runs (repeatable)")
	return cmd
}

func newBenchOverheadCmd(g *globals) *cobra.Command {
	var (
		f          benchFlags
		tr         string
		microMiB   int
		iterations int
	)
	cmd := &cobra.Command{
		Use:   "overhead --out DIR [flags]",
		Short: "Measure what memqos costs when memory is plentiful",
		Long: `With no memory limit and nothing else running, measure an allocation
microbenchmark (allocate and touch --micro-mib, then free, --iterations
times) and a trace replay, with no daemon and under each daemon strategy,
interleaved: each run measures every arm once, in a shuffled order. The
workloads run as LOW members, whose charges go through the kernel
backend's hook. memqos report gives each difference with its confidence
interval.

--strategies defaults to every daemon strategy this kernel can run
(structops and cgroupfs with memcg_bpf_ops, cgroupfs without).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if microMiB <= 0 || iterations <= 0 {
				return fmt.Errorf("--micro-mib %d, --iterations %d: want positive numbers", microMiB, iterations)
			}
			sc := bench.Scenario{Name: "overhead", Low: []string{tr}, MicroBytes: int64(microMiB) << 20, MicroIterations: iterations}
			return f.run(cmd, g, "overhead", sc, bench.Overhead, true)
		},
	}
	fs := cmd.Flags()
	f.register(fs, 10, "daemon")
	fs.StringVar(&tr, "trace", "builtin:dask__dask-11628", "trace to replay (a path or builtin:NAME)")
	fs.IntVar(&microMiB, "micro-mib", 10, "microbenchmark allocation size, in MiB")
	fs.IntVar(&iterations, "iterations", 200, "microbenchmark allocations per run")
	return cmd
}

// runBench runs a bench in cgroups on this host, with the variants read
// from f, then prints its summary. daemonOnly: every strategy must run the
// daemon (the overhead bench).
func runBench(cmd *cobra.Command, g *globals, f *benchFlags, sc bench.Scenario, variants []bench.Variant, run func(ctx context.Context, o bench.Options) error, daemonOnly bool) error {
	probe := (&kernel.Host{}).Probe()
	strategies, err := benchStrategies(f.strategies, probe)
	if err != nil {
		return err
	}
	for _, s := range strategies {
		if daemonOnly && !s.RunsDaemon() {
			return fmt.Errorf("--strategies: %q runs no daemon; overhead compares daemon strategies with none, which it always runs", s)
		}
	}
	fsys, err := cgroup.Open("")
	if err != nil {
		return err
	}
	worker, err := workerCommand(g)
	if err != nil {
		return err
	}
	rt, image, err := benchRuntime(cmd.Context(), f.runtime)
	if err != nil {
		return err
	}
	pj, _ := json.Marshal(probe)
	version, commit := buildInfo()
	prog := newBenchProgress(g.stderr, f.vm.lines)
	o := bench.Options{
		FS: fsys, Parent: f.parent, Out: f.out, Scenario: sc, Strategies: strategies, Variants: variants, Runs: f.runs,
		Seed: f.seed, Resume: f.vm.resume, HoldTracepoint: f.vm.hold, ArmTimeout: f.armTimeout, Worker: worker, Runtime: rt, Image: image, Log: g.logger(), Progress: prog.arm,
		Manifest: bench.Manifest{Version: version, Commit: commit, Kernel: probe.Kernel, Probe: pj},
	}
	err = run(cmd.Context(), o)
	prog.finish()
	if err != nil || f.vm.noSummary {
		return err
	}
	return printBenchSummary(g.stdout, g.stderr, f.out)
}

// benchRuntime reads --runtime; for podman (which run has found) it
// builds the sandbox image the sessions run in, from this memqos binary,
// and returns its name.
func benchRuntime(ctx context.Context, flag string) (bench.Runtime, string, error) {
	rt, err := bench.ParseRuntime(flag)
	if err != nil || rt != bench.PodmanRuntime {
		return rt, "", err
	}
	busybox := defaultBusybox
	if vm.CheckStatic(busybox) != nil {
		busybox = "" // the sessions need only memqos
	}
	if err := buildSandboxImage(ctx, podman.DefaultImage, busybox); err != nil {
		return "", "", fmt.Errorf("--runtime podman: %w", err)
	}
	return rt, podman.DefaultImage, nil
}

// benchStrategies reads --strategies; "daemon" means every daemon
// strategy the kernel can run.
func benchStrategies(list string, probe *kernel.Report) ([]bench.Strategy, error) {
	if list != "daemon" {
		return bench.ParseStrategies(list, probe)
	}
	all, err := bench.ParseStrategies("all", probe)
	if err != nil {
		return nil, err
	}
	var out []bench.Strategy
	for _, s := range all {
		if s == bench.StructOps || s == bench.CgroupFS {
			out = append(out, s)
		}
	}
	return out, nil
}

// benchProgress shows a bar on a terminal, and a line per arm otherwise
// (in a guest, where the host reads them to drive its own bar).
type benchProgress struct {
	w   io.Writer
	bar progressBar
}

func newBenchProgress(w io.Writer, lines bool) *benchProgress {
	p := &benchProgress{w: w}
	if !lines {
		p.bar = newProgressBar(w)
	}
	return p
}

func (p *benchProgress) arm(done, total int, a *bench.Arm) {
	if p.bar != nil {
		p.bar.update(done, total, fmt.Sprintf("run %d %s", a.Run, a.Name))
		return
	}
	status := "ok"
	if a.Error != "" {
		status = "error: " + a.Error
	}
	fmt.Fprintf(p.w, "%s %d/%d run %d %s %.1fs %s\n", progressTag, done, total, a.Run, a.Name, a.WallS, status)
}

func (p *benchProgress) finish() {
	if p.bar != nil {
		p.bar.finish()
	}
}
