package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/podman"
	"github.com/memqos/memqos/internal/trace"
	"github.com/memqos/memqos/internal/trace/replay"
)

// Runtime is how a bench runs its sessions.
type Runtime string

const (
	// ProcessRuntime replays each session as a process (memqos's replay
	// worker) in a group of its own, CLASS/NAME below the arm's parent.
	ProcessRuntime Runtime = "process"
	// PodmanRuntime replays each session in a podman container whose
	// cgroup parent is the session's class group: the container's group is
	// CLASS/libpod-<id>, and it runs `memqos trace replay --cgroup self`.
	PodmanRuntime Runtime = "podman"
)

// ParseRuntime reads --runtime.
func ParseRuntime(s string) (Runtime, error) {
	switch r := Runtime(s); r {
	case ProcessRuntime, PodmanRuntime:
		return r, nil
	}
	return "", fmt.Errorf("--runtime %q: want %s or %s", s, ProcessRuntime, PodmanRuntime)
}

// replaySpec is how one session replays its trace.
type replaySpec struct {
	tr    *trace.Trace
	speed float64
	base  int64
	noTHP bool
	// dir is the arm's results directory; result the member's result
	// file name in it.
	dir, result string
	log         *slog.Logger
}

// sessionRuntime starts sessions; it is the only part of an arm that
// differs between runtimes.
type sessionRuntime interface {
	// prepare readies a session to replay sp in the class group: when it
	// returns, the session's group exists and holds nothing of the
	// session's workload yet, so that its limits can be set and the
	// daemon can govern it before it starts.
	prepare(ctx context.Context, class *cgroup.Group, name string, sp replaySpec) (preparedSession, error)
	// close releases what the runtime holds for the whole bench.
	close() error
}

// preparedSession is a session ready to start.
type preparedSession interface {
	// group is the session's group.
	group() *cgroup.Group
	// container is the session's container id, "" for a process.
	container() string
	// run replays the session and waits for its result; the result is
	// nil only when the replay could not start. When ctx ends, the
	// replay is interrupted, and that is its result.
	run(ctx context.Context) (*replay.Result, error)
	// release removes what prepare made outside the session's group.
	release() error
}

// processRuntime replays sessions as processes in groups of their own.
type processRuntime struct {
	fsys   *cgroup.FS
	worker replayWorker
}

type processSession struct {
	g *cgroup.Group
	o replay.Options
}

func (r *processRuntime) prepare(_ context.Context, class *cgroup.Group, name string, sp replaySpec) (preparedSession, error) {
	g, err := r.fsys.CreateEnabled(class.Child(name).Name())
	if err != nil {
		return nil, err
	}
	return &processSession{g: g, o: replay.Options{FS: r.fsys, Trace: sp.tr, Speed: sp.speed, Base: sp.base,
		Group: g.Name(), NoTHP: sp.noTHP, Command: r.worker, Log: sp.log}}, nil
}

func (r *processRuntime) close() error { return nil }

func (s *processSession) group() *cgroup.Group { return s.g }
func (s *processSession) container() string    { return "" }
func (s *processSession) release() error       { return nil }
func (s *processSession) run(ctx context.Context) (*replay.Result, error) {
	return replay.Run(ctx, s.o)
}

// podmanRuntime replays sessions in podman containers of a sandbox image
// holding memqos.
type podmanRuntime struct {
	fsys  *cgroup.FS
	image string
	// traces holds the sessions' trace files, bound read-only into the
	// containers (a session may replay a trace the bench made, such as
	// the idle scenario's).
	traces string
	// prefix and seq make container names unique.
	prefix string
	seq    atomic.Int64
	log    *slog.Logger
}

// containerTrace is where a session's trace file is in its container.
const containerTrace = "/trace.json"

// containerOut is where the arm's results directory is in a container.
const containerOut = "/out"

func newPodmanRuntime(fsys *cgroup.FS, image string, log *slog.Logger) (*podmanRuntime, error) {
	if image == "" {
		return nil, errors.New("--runtime podman: no sandbox image given")
	}
	dir, err := os.MkdirTemp("", "memqos-bench-traces-")
	if err != nil {
		return nil, err
	}
	return &podmanRuntime{fsys: fsys, image: image, traces: dir, prefix: fmt.Sprintf("memqos-bench-%d", os.Getpid()), log: log}, nil
}

func (r *podmanRuntime) close() error { return os.RemoveAll(r.traces) }

// replayCommand is the command a session's container runs: memqos trace
// replay with the process runtime's settings, the worker in the
// container's own group, the result in the arm's directory.
func replayCommand(sp replaySpec) []string {
	cmd := []string{"memqos", "trace", "replay", containerTrace,
		"--speed", strconv.FormatFloat(sp.speed, 'g', -1, 64),
		"--base-mb", strconv.FormatFloat(float64(sp.base)/1e6, 'g', -1, 64),
		"--cgroup", "self", "-o", path.Join(containerOut, sp.result)}
	if sp.noTHP {
		cmd = append(cmd, "--no-thp")
	}
	return cmd
}

// createOptions are the container of session name, whose trace file is
// traceFile, below the class group.
func (r *podmanRuntime) createOptions(class *cgroup.Group, name, traceFile string, sp replaySpec) podman.CreateOptions {
	return podman.CreateOptions{
		Name:         fmt.Sprintf("%s-%d-%s", r.prefix, r.seq.Add(1), name),
		Image:        r.image,
		CgroupParent: path.Join("/", class.Name()),
		Mounts: []podman.Mount{
			{Host: sp.dir, Container: containerOut},
			{Host: traceFile, Container: containerTrace, ReadOnly: true},
		},
		Command: replayCommand(sp),
	}
}

// prepare creates the session's container and initializes it, which
// creates its group (CLASS/libpod-<id>) with only the runtime's waiting
// init process in it.
func (r *podmanRuntime) prepare(ctx context.Context, class *cgroup.Group, name string, sp replaySpec) (preparedSession, error) {
	f, err := os.CreateTemp(r.traces, name+"-*.json")
	if err != nil {
		return nil, err
	}
	err = errors.Join(trace.Encode(f, sp.tr), f.Close())
	if err != nil {
		return nil, fmt.Errorf("trace for %s: %w", name, err)
	}
	o := r.createOptions(class, name, f.Name(), sp)
	id, err := podman.Create(ctx, o)
	if err != nil {
		return nil, err
	}
	s := &podmanSession{id: id, name: o.Name, sp: sp, log: r.log}
	fail := func(err error) (preparedSession, error) { return nil, errors.Join(err, s.release()) }
	if err := podman.Init(ctx, id); err != nil {
		return fail(err)
	}
	c, err := podman.CgroupOf(ctx, id, o.CgroupParent)
	if err != nil {
		return fail(err)
	}
	s.g = r.fsys.Group(c.Cgroup)
	if s.g.Parent().Name() != class.Name() || !s.g.Exists() {
		return fail(fmt.Errorf("container %s: its cgroup %s is not a group below %s", o.Name, c.Cgroup, class.Name()))
	}
	return s, nil
}

type podmanSession struct {
	id, name string
	g        *cgroup.Group
	sp       replaySpec
	log      *slog.Logger
}

func (s *podmanSession) group() *cgroup.Group { return s.g }
func (s *podmanSession) container() string    { return s.id }

// stopTimeout bounds the podman commands that stop or remove a container.
const stopTimeout = time.Minute

func (s *podmanSession) release() error {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	return podman.Remove(ctx, s.id)
}

// run starts the container and waits for it; when ctx ends, it sends the
// replay SIGTERM, which interrupts it as it interrupts a process, and the
// replay still writes its result.
func (s *podmanSession) run(ctx context.Context) (*replay.Result, error) {
	stop := context.AfterFunc(ctx, func() {
		kctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if err := podman.Kill(kctx, s.id, "TERM"); err != nil {
			s.log.Warn("interrupt container", "container", s.name, "err", err)
		}
	})
	defer stop()
	var out limitedBuffer
	code, err := podman.Start(context.WithoutCancel(ctx), s.id, &out)
	if err != nil {
		return nil, err
	}
	if s.sp.log != nil {
		s.sp.log.Info("container ended", "container", s.name, "exit", code, "output", out.String())
	}
	var res replay.Result
	if err := readJSON(filepath.Join(s.sp.dir, s.sp.result), &res); err != nil {
		return nil, fmt.Errorf("container %s exited with status %d and no result (%w): %s", s.name, code, err, out.String())
	}
	return &res, nil
}

// limitedBuffer keeps the first 8 KiB written to it: a container's output,
// for errors and logs.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.b = append(l.b, p[:min(len(p), max(0, 8<<10-len(l.b)))]...)
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }
