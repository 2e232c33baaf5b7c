package selftest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cilium/ebpf/btf"
	"github.com/memqos/memqos/internal/bpf"
	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/kernel"
	"github.com/memqos/memqos/internal/proc"
	"golang.org/x/sys/unix"
)

// Status is a test's outcome.
type Status string

// Outcomes.
const (
	Pass        Status = "PASS"
	Fail        Status = "FAIL"
	Unsupported Status = "UNSUPPORTED"
)

// Result is one test's outcome and measurements.
type Result struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Reason string `json:"reason,omitempty"`
	// Timing tests.
	Reads          int     `json:"reads,omitempty"`
	HighSeconds    float64 `json:"high_seconds,omitempty"`
	LowSeconds     float64 `json:"low_seconds,omitempty"`
	ExtraSeconds   float64 `json:"low_minus_high_seconds,omitempty"`
	DelayMS        int64   `json:"configured_delay_ms,omitempty"`
	Delays         uint64  `json:"delays_returned,omitempty"`
	DelayRequested float64 `json:"delay_requested_seconds,omitempty"`
	// LowStallSeconds is LOW's memory PSI "some" stall time during the
	// test: the kernel counts the delay's sleep as memory stall, so this
	// is the delay the kernel applied.
	LowStallSeconds float64 `json:"low_memory_stall_seconds,omitempty"`
	OOMKills        uint64  `json:"oom_kills,omitempty"`
	// LimitHits counts the parent's memory.events "max" events: how often
	// a charge hit memory.max and reclaimed.
	LimitHits uint64 `json:"limit_hits,omitempty"`
	// PeakMB is the parent's memory.peak.
	PeakMB float64 `json:"peak_mb,omitempty"`
	// HighCounters and LowCounters are the BPF counters of the HIGH and
	// LOW classes.
	HighCounters *bpf.Counters `json:"high_counters,omitempty"`
	LowCounters  *bpf.Counters `json:"low_counters,omitempty"`
	// Hierarchies.
	Errno string `json:"errno,omitempty"`
	// Attempts is how many times a timing test ran: it is repeated, up to
	// Options.Attempts times, until it passes. EarlierFailures holds the
	// reasons of the attempts that failed.
	Attempts        int      `json:"attempts,omitempty"`
	EarlierFailures []string `json:"earlier_failures,omitempty"`
}

// Options configure a run.
type Options struct {
	// FS is the cgroup v2 hierarchy.
	FS *cgroup.FS
	// Dir holds the data files; it must be on a real disk.
	Dir string
	// Limit is the parent group's memory.max.
	Limit int64
	// FileSize is each child's file size (upstream: 64 MiB).
	FileSize int64
	// Command returns a command that runs WorkloadMain with args.
	Command func(args []string) *exec.Cmd
	// Attempts bounds how often a failing timing test is run; zero means
	// DefaultAttempts. Timings under qemu's TCG are noisy: in one of about
	// 40 runs HIGH itself stalled for seconds in reclaim and LOW's single
	// 2 s delay did not make up the difference.
	Attempts int
	// Log receives progress; nil discards it.
	Log *slog.Logger
}

// DefaultAttempts is how often a failing timing test is run by default.
const DefaultAttempts = 2

// retry runs a timing test until it passes or Attempts runs have failed,
// and reports every failed attempt in the result.
func (o *Options) retry(test func() Result) Result {
	n := o.Attempts
	if n <= 0 {
		n = DefaultAttempts
	}
	var failures []string
	for i := 1; ; i++ {
		r := test()
		r.Attempts = i
		if r.Status == Pass || i >= n {
			r.EarlierFailures = failures
			return r
		}
		failures = append(failures, r.Reason)
		o.Log.Warn("selftest attempt failed", "test", r.Name, "attempt", i, "reason", r.Reason)
	}
}

// DefaultLimitMiB is the parent's memory.max used by default, in MiB. See
// the package documentation for why.
const DefaultLimitMiB = 120

// Upstream parameters.
const (
	upstreamDelay     = 2000 * time.Millisecond
	upstreamThreshold = 1
	passMargin        = time.Second
)

// Names of the four tests, in order.
var Names = []string{"over_high", "below_low_over_high", "below_min_over_high", "hierarchies"}

// Run runs the four tests. An error means the run itself could not
// proceed (bad options); test failures are in the results.
func Run(ctx context.Context, o Options) ([]Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if err := proc.RemoveStale(o.FS, groupKind, o.Log); err != nil {
		return nil, err
	}
	if reason := unsupported(); reason != "" {
		var out []Result
		for _, n := range Names {
			out = append(out, Result{Name: n, Status: Unsupported, Reason: reason})
		}
		return out, nil
	}
	return []Result{
		o.retry(func() Result { return o.timing(ctx, "over_high", 5, false, false, false) }),
		o.retry(func() Result { return o.timing(ctx, "below_low_over_high", 50, true, true, false) }),
		o.retry(func() Result { return o.timing(ctx, "below_min_over_high", 50, true, false, true) }),
		o.hierarchies(ctx),
	}, nil
}

func (o *Options) check() error {
	if o.FS == nil || o.Command == nil || o.Limit <= 0 || o.FileSize <= 0 {
		return errors.New("selftest: FS, Command, Limit and FileSize are required")
	}
	var st unix.Statfs_t
	if err := unix.Statfs(o.Dir, &st); err != nil {
		return fmt.Errorf("selftest data directory %s: %w", o.Dir, err)
	}
	if st.Type == unix.TMPFS_MAGIC || st.Type == unix.RAMFS_MAGIC {
		return fmt.Errorf("selftest data directory %s is on tmpfs/ramfs, whose page cache cannot be reclaimed with swap off; use a directory on a real disk (in a guest: memqos vm run --scratch-mib N, then --dir /scratch)", o.Dir)
	}
	return nil
}

// unsupported returns why the kernel cannot run the tests, or "".
func unsupported() string {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return "no kernel BTF: " + err.Error()
	}
	if _, err := kernel.MemcgOpsABI(spec); err != nil {
		return err.Error()
	}
	if !kernel.HasCountMemcgEvents(spec) {
		return "the kernel has no memcg:count_memcg_events tracepoint"
	}
	return ""
}

// group creates a fresh group below the root, named for the test.
func (o *Options) group(name string) (*cgroup.Group, error) {
	return o.FS.Create(proc.GroupName(groupKind, name))
}

// groupKind names the groups a run creates (see proc.GroupName), so that
// a later run removes those a dead run left behind.
const groupKind = "selftest"

func errnoName(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return fmt.Sprintf("%s (%d)", unix.ErrnoName(errno), int(errno))
	}
	return ""
}

// child is one running workload.
type child struct {
	cmd     *exec.Cmd
	out     strings.Builder
	start   time.Time
	done    chan struct{}
	err     error
	elapsed time.Duration
}

func (o *Options) start(g *cgroup.Group, file string, reads int) (*child, error) {
	c := &child{cmd: o.Command(WorkloadArgs(file, o.FileSize, reads))}
	c.cmd.Stdout = &c.out
	c.cmd.Stderr = os.Stderr
	c.start, c.done = time.Now(), make(chan struct{})
	if err := g.Start(c.cmd); err != nil {
		return nil, err
	}
	go func() {
		c.err = c.cmd.Wait()
		c.elapsed = time.Since(c.start)
		close(c.done)
	}()
	return c, nil
}

// wait returns the child's wall time from its start to its exit. Timing
// from outside the child counts the charges of its start-up too (the
// runtime's first heap and stacks), which the delay hook also slows.
func (c *child) wait() (time.Duration, error) {
	<-c.done
	if c.err != nil {
		return 0, c.err
	}
	if _, err := strconv.ParseInt(strings.TrimSpace(c.out.String()), 10, 64); err != nil {
		return 0, fmt.Errorf("workload printed %q, not its elapsed time", c.out.String())
	}
	return c.elapsed, nil
}

func removeFiles(dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "memqos-selftest-*"))
	for _, f := range files {
		os.Remove(f)
	}
}
