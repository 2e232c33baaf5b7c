package bench

import (
	"sync"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
)

// TimelineInterval is how often an arm samples its groups' memory.current.
const TimelineInterval = 100 * time.Millisecond

// timeline samples memory.current of each session's group and of the
// parent, every TimelineInterval, until stopped.
type timeline struct {
	t     Timeline
	stopC chan struct{}
	wg    sync.WaitGroup
}

// startTimeline samples each session's group (groups[i] is sessions[i]'s)
// and the parent root.
func startTimeline(root *cgroup.Group, sessions []*session, sessionGroups []*cgroup.Group) *timeline {
	tl := &timeline{t: Timeline{IntervalS: TimelineInterval.Seconds()}, stopC: make(chan struct{})}
	groups := make([]*cgroup.Group, 0, len(sessions)+1)
	for i, s := range sessions {
		tl.t.Members = append(tl.t.Members, s.Name)
		groups = append(groups, sessionGroups[i])
	}
	tl.t.Members = append(tl.t.Members, "parent")
	groups = append(groups, root)
	tl.wg.Go(func() {
		tick := time.NewTicker(TimelineInterval)
		defer tick.Stop()
		for {
			row := make([]uint64, len(groups))
			for i, g := range groups {
				row[i], _ = g.MemoryCurrent() // a group being removed reads as 0
			}
			tl.t.Samples = append(tl.t.Samples, row)
			select {
			case <-tl.stopC:
				return
			case <-tick.C:
			}
		}
	})
	return tl
}

// stop ends the sampling and returns the timeline.
func (tl *timeline) stop() Timeline {
	close(tl.stopC)
	tl.wg.Wait()
	return tl.t
}
