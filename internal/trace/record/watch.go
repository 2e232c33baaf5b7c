package record

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/trace"
)

// WatchOptions configure Watch.
type WatchOptions struct {
	// FS is the cgroup v2 hierarchy.
	FS *cgroup.FS
	// Group is the path of the group to sample, relative to FS.Root, such
	// as a container's "/agents/low/libpod-<id>". It must exist.
	Group string
	// Name is the trace's name; empty means the group's base name.
	Name string
	// Source is the trace's source; empty means "memqos record: cgroup"
	// and the group's path.
	Source string
	// Interval is the sampling interval; 0 means DefaultInterval.
	Interval time.Duration
	// Log receives progress; nil discards it.
	Log *slog.Logger
}

func (o *WatchOptions) check() error {
	if o.FS == nil || o.Group == "" {
		return errors.New("record: FS and Group are required")
	}
	if err := samplingDefaults(&o.Interval, &o.Log); err != nil {
		return err
	}
	if o.Name == "" {
		o.Name = path.Base(o.Group)
	}
	if o.Source == "" {
		o.Source = "memqos record: cgroup " + o.FS.Group(o.Group).Name()
	}
	return nil
}

// Watch samples an existing group, which something else created and
// fills, as Record samples its own: the same fields on the same absolute
// schedule. It samples until the group is removed or has no process left
// (cgroup.events: populated 0), or until ctx ends, and returns the trace
// of the samples taken. It creates, moves and removes no group and no
// process.
//
// Watch fails if the group does not exist or cannot be read (the cgroup
// package's errors), or if no sample was taken (trace.ErrNoSamples). A
// sample that cannot be read during the run is logged and skipped.
func Watch(ctx context.Context, o WatchOptions) (*trace.Trace, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	g := o.FS.Group(o.Group)
	if _, err := g.MemoryCurrent(); err != nil {
		return nil, fmt.Errorf("record cgroup: %w", err)
	}
	s := newSampler(g, o.Interval, o.Log)
	o.Log.Info("recording", "cgroup", g.Name(), "interval", o.Interval)
	s.run(ctx.Done(), func(err error) bool { return !ended(g, err, o.Log) })
	o.Log.Info("recorded", "samples", len(s.samples), "canceled", ctx.Err() != nil)
	return newTrace(o.Name, o.Source, o.Interval, s.samples)
}

// ended reports whether g is gone (err, the last sample's error, or
// reading cgroup.events says it no longer exists) or has no process left.
func ended(g *cgroup.Group, err error, log *slog.Logger) bool {
	if errors.Is(err, fs.ErrNotExist) {
		log.Info("cgroup removed", "cgroup", g.Name())
		return true
	}
	populated, _, err := g.Events()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		log.Info("cgroup removed", "cgroup", g.Name())
		return true
	case err != nil:
		log.Warn("cgroup.events", "err", err)
		return false
	case !populated:
		log.Info("cgroup has no process left", "cgroup", g.Name())
		return true
	}
	return false
}
