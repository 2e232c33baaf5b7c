package selftest

import (
	"context"
	"fmt"
	"time"

	"github.com/memqos/memqos/internal/bpf"
	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/proc"
)

// hierarchies checks the override rules on /cg, /cg/cg and /cg/cg/cg.
func (o *Options) hierarchies(ctx context.Context) Result {
	r := Result{Name: "hierarchies"}
	o.Log.Info("selftest", "test", r.Name)
	root, err := o.group(r.Name)
	if err != nil {
		return failed(r, err)
	}
	defer proc.RemoveGroup(root)
	groups, err := o.nest(root, 3)
	if err != nil {
		return failed(r, err)
	}
	det, err := newDetector(bpf.HighConfig{Threshold: upstreamThreshold, Window: time.Second, Hold: time.Second, ProtectLow: true})
	if err != nil {
		return failed(r, err)
	}
	defer det.Close()
	var atts []*bpf.Attachment
	defer func() {
		for i := len(atts) - 1; i >= 0; i-- {
			atts[i].Close()
		}
	}()
	steps := []struct {
		flags   uint32
		succeed bool
	}{{bpf.FlagAllowOverride, true}, {0, true}, {0, false}}
	for i, step := range steps {
		a, err := attachTo(det, bpf.Low, lowClass, groups[i], step.flags)
		if a != nil {
			atts = append(atts, a)
		}
		switch {
		case step.succeed && err != nil:
			return failed(r, fmt.Errorf("attach to %s (flags %#x) should succeed: %w", groups[i].Name(), step.flags, err))
		case !step.succeed && err == nil:
			return failed(r, fmt.Errorf("attach to %s should fail: its parent has ops without ALLOW_OVERRIDE", groups[i].Name()))
		case !step.succeed:
			r.Errno = errnoName(err)
			if r.Errno == "" {
				return failed(r, fmt.Errorf("attach to %s failed without a kernel errno: %w", groups[i].Name(), err))
			}
		}
	}
	r.Status = Pass
	return r
}

// nest creates /cg, /cg/cg, ... below root, each enabling memory for its
// children as upstream does.
func (o *Options) nest(root *cgroup.Group, depth int) ([]*cgroup.Group, error) {
	if err := root.EnableControllers("memory"); err != nil {
		return nil, err
	}
	var out []*cgroup.Group
	parent := root
	for i := 0; i < depth; i++ {
		g, err := o.FS.Create(parent.Name() + "/cg")
		if err != nil {
			return nil, err
		}
		if err := g.EnableControllers("memory"); err != nil {
			return nil, err
		}
		out = append(out, g)
		parent = g
	}
	return out, nil
}
