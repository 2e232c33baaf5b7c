package daemon

import (
	"sort"

	"github.com/memqos/memqos/internal/actuate"
	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/policy"
)

// snapshot reads the root and every member. A member whose files cannot
// be read (it is being removed) is left out; the next scan drops it.
func (d *Daemon) snapshot() policy.Snapshot {
	s := policy.Snapshot{Now: d.opts.Now(), Root: d.rootMemory()}
	needs := d.pol.Needs()
	byClass := map[string][]policy.Member{}
	paths := make([]string, 0, len(d.members))
	for p := range d.members {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		m := d.members[p]
		// Only what the policy reads: memory.stat is the largest file
		// read, every tick.
		pm, err := readMember(m.Group, needs.AnonTHP && m.Class.Priority == config.Low)
		if err != nil {
			continue
		}
		if file := actuate.ProtectFile(m.Class); file != "" && needs.Reserved {
			pm.Reserved = d.reserved(m.Group, file)
		}
		byClass[m.Class.Name] = append(byClass[m.Class.Name], pm)
	}
	for _, c := range d.cfg.Classes {
		s.Classes = append(s.Classes, policy.ClassState{
			Name: c.Name, LastTrigger: d.plugins.det.LastTrigger(c.Name), Members: byClass[c.Name],
		})
	}
	return s
}

// reserved returns g's own value of the protection knob file: the
// journal's original if memqos has changed it, else the value it has. A
// value that cannot be read counts as no protection.
func (d *Daemon) reserved(g *cgroup.Group, file string) uint64 {
	s, err := g.ReadString(file)
	if orig, ok := d.knobs.Original(g.Name(), file); ok {
		s, err = orig, nil
	}
	if err != nil {
		return 0
	}
	l, err := cgroup.ParseLimit(s)
	if err != nil {
		return 0
	}
	return limitValue(l)
}

// readMember reads one member; anon_thp from memory.stat only if thp.
func readMember(g *cgroup.Group, thp bool) (policy.Member, error) {
	m := policy.Member{Path: g.Name()}
	var err error
	if m.Usage, err = g.MemoryCurrent(); err != nil {
		return m, err
	}
	high, err := g.Limit(cgroup.MemoryHigh)
	if err != nil {
		return m, err
	}
	m.High = limitValue(high)
	if p, err := g.MemoryPressure(); err == nil {
		m.MemStall = p.Some.Total
	}
	if _, frozen, err := g.Events(); err == nil {
		m.Frozen = frozen
	}
	if thp {
		if st, err := g.MemoryStat(); err == nil {
			m.AnonTHP = st["anon_thp"]
		}
	}
	return m, nil
}

func limitValue(l cgroup.Limit) uint64 {
	if l < 0 {
		return policy.Max
	}
	return uint64(l)
}

// rootMemory is the root's usage and its effective limit: the smallest
// memory.max or memory.high of the root and its ancestors, else the
// machine's memory.
func (d *Daemon) rootMemory() policy.Memory {
	m := policy.Memory{Limit: d.machineMemory()}
	if u, err := d.root.MemoryCurrent(); err == nil {
		m.Usage = u
	}
	for g := d.root; !g.IsRoot(); g = g.Parent() {
		for _, knob := range []string{cgroup.MemoryMax, cgroup.MemoryHigh} {
			if l, err := g.Limit(knob); err == nil && l >= 0 && uint64(l) < m.Limit {
				m.Limit = uint64(l)
			}
		}
	}
	return m
}

func (d *Daemon) machineMemory() uint64 {
	if d.opts.Machine == 0 {
		d.opts.Machine = memTotal("/proc")
	}
	return d.opts.Machine
}
