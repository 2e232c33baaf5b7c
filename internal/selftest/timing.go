package selftest

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/memqos/memqos/internal/bpf"
	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/proc"
)

// setup is a timing test's parent group with HIGH and LOW children.
type setup struct {
	parent, high, low *cgroup.Group
}

func (o *Options) makeSetup(name string) (*setup, error) {
	parent, err := o.group(name)
	if err != nil {
		return nil, err
	}
	s := &setup{parent: parent}
	for _, step := range []func() error{
		func() error { return parent.EnableControllers("memory") },
		func() error { return parent.SetLimit(cgroup.MemoryMax, cgroup.Limit(o.Limit)) },
		func() error { return parent.SetLimit(cgroup.MemorySwapMax, 0) },
		func() (err error) { s.high, err = o.FS.Create(parent.Name() + "/high"); return err },
		func() (err error) { s.low, err = o.FS.Create(parent.Name() + "/low"); return err },
	} {
		if err := step(); err != nil {
			proc.RemoveGroup(parent)
			return nil, err
		}
	}
	return s, nil
}

// timing runs one timing test: HIGH and LOW each write a file and read it
// reads times; LOW's charges are delayed while HIGH faults.
func (o *Options) timing(ctx context.Context, name string, reads int, highOps, low, min bool) Result {
	r := Result{Name: name, Reads: reads, DelayMS: upstreamDelay.Milliseconds()}
	o.Log.Info("selftest", "test", name, "reads", reads)
	defer removeFiles(o.Dir)
	s, err := o.makeSetup(name)
	if err != nil {
		return failed(r, err)
	}
	defer proc.RemoveGroup(s.parent)
	det, err := newDetector(bpf.HighConfig{Threshold: upstreamThreshold, Window: time.Second, Hold: time.Second, ProtectLow: low, ProtectMin: min})
	if err != nil {
		return failed(r, err)
	}
	defer det.Close()
	detach, err := attachOps(det, s, highOps)
	if err != nil {
		return failed(r, err)
	}
	err = o.runPair(ctx, s, &r)
	if derr := detach(); err == nil {
		err = derr
	}
	hc, herr := det.Counters(highClass)
	lc, lerr := det.Counters(lowClass)
	if herr == nil && lerr == nil {
		r.HighCounters, r.LowCounters = &hc, &lc
		r.Delays = lc.DelayActive
		r.DelayRequested = float64(lc.DelayMsTotal) / 1000
	}
	if err != nil {
		return failed(r, err)
	}
	return judge(r)
}

// attachOps attaches LOW's delay and, if highOps, HIGH's protection; the
// returned function detaches them (before the groups are removed).
func attachOps(det *bpf.Detector, s *setup, highOps bool) (func() error, error) {
	id, err := s.high.ID()
	if err != nil {
		return nil, err
	}
	if err := det.AddHighCgroup(id, highClass); err != nil {
		return nil, err
	}
	var atts []*bpf.Attachment
	detach := func() error {
		var first error
		for i := len(atts) - 1; i >= 0; i-- {
			if err := atts[i].Close(); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	roles := []struct {
		role bpf.Role
		id   bpf.ClassID
		g    *cgroup.Group
		on   bool
	}{{bpf.High, highClass, s.high, highOps}, {bpf.Low, lowClass, s.low, true}}
	for _, x := range roles {
		if !x.on {
			continue
		}
		a, err := attachTo(det, x.role, x.id, x.g, 0)
		if err != nil {
			detach()
			return nil, err
		}
		atts = append(atts, a)
	}
	return detach, nil
}

func attachTo(det *bpf.Detector, role bpf.Role, id bpf.ClassID, g *cgroup.Group, flags uint32) (*bpf.Attachment, error) {
	dir, err := g.OpenDir()
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	return det.Attach(role, id, dir, flags)
}

// The selftests' classes: one HIGH class and one LOW class yielding to it.
const (
	highClass bpf.ClassID = 1
	lowClass  bpf.ClassID = 2
)

// newDetector loads a detector with highClass configured as high and
// lowClass delayed by the upstream delay while highClass is under
// pressure.
func newDetector(high bpf.HighConfig) (*bpf.Detector, error) {
	det, err := bpf.NewDetector()
	if err != nil {
		return nil, err
	}
	err = errors.Join(det.SetHigh(highClass, high),
		det.SetLow(lowClass, bpf.LowConfig{Delay: upstreamDelay, YieldsTo: []bpf.ClassID{highClass}}))
	if err != nil {
		det.Close()
		return nil, err
	}
	return det, nil
}

// runPair starts LOW then HIGH, as upstream does, and records their times,
// LOW's memory stall and the OOM kills.
func (o *Options) runPair(ctx context.Context, s *setup, r *Result) error {
	ev0, err := s.parent.MemoryEvents()
	if err != nil {
		return err
	}
	psi0, err := s.low.MemoryPressure()
	if err != nil {
		return err
	}
	lowC, err := o.start(s.low, filepath.Join(o.Dir, "memqos-selftest-low"), r.Reads)
	if err != nil {
		return err
	}
	highC, err := o.start(s.high, filepath.Join(o.Dir, "memqos-selftest-high"), r.Reads)
	if err != nil {
		lowC.cmd.Process.Kill()
		lowC.wait()
		return err
	}
	stop := context.AfterFunc(ctx, func() {
		lowC.cmd.Process.Kill()
		highC.cmd.Process.Kill()
	})
	defer stop()
	lowT, lowErr := lowC.wait()
	highT, highErr := highC.wait()
	r.LowSeconds, r.HighSeconds = lowT.Seconds(), highT.Seconds()
	if ev, err := s.parent.MemoryEvents(); err == nil {
		r.OOMKills, r.LimitHits = ev.Sub(ev0).OOMKill, ev.Sub(ev0).Max
	}
	if peak, err := s.parent.MemoryPeak(); err == nil {
		r.PeakMB = float64(peak) / (1 << 20)
	}
	if psi, err := s.low.MemoryPressure(); err == nil {
		r.LowStallSeconds = (psi.Some.Total - psi0.Some.Total).Seconds()
	}
	switch {
	case lowErr != nil:
		return fmt.Errorf("LOW workload: %w (OOM kills in the parent: %d)", lowErr, r.OOMKills)
	case highErr != nil:
		return fmt.Errorf("HIGH workload: %w (OOM kills in the parent: %d)", highErr, r.OOMKills)
	}
	return nil
}

func judge(r Result) Result {
	extra := time.Duration((r.LowSeconds - r.HighSeconds) * float64(time.Second))
	r.ExtraSeconds = extra.Seconds()
	if extra >= passMargin {
		r.Status = Pass
		return r
	}
	r.Status = Fail
	r.Reason = fmt.Sprintf("LOW took %.2f s, HIGH %.2f s: LOW is not at least %v slower", r.LowSeconds, r.HighSeconds, passMargin)
	return r
}

func failed(r Result, err error) Result {
	r.Status = Fail
	r.Reason = err.Error()
	return r
}
