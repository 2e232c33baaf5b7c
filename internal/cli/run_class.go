package cli

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/proc"
)

// defaultConfig is where memqos run --class and memqos status look for
// the daemon's configuration, as deploy/memqos.service installs it.
const defaultConfig = "/etc/memqos/memqos.yaml"

// runInClass runs args in a new child group of the class f.class and
// removes the group afterwards. It needs root (or write access to the
// class's group).
func runInClass(g *globals, f *runFlags, args []string) error {
	if err := proc.Check(args); err != nil {
		return err
	}
	cfg, err := config.Load(f.config)
	if err != nil {
		return err
	}
	idx, class := classIndex(cfg, f.class)
	if class == nil {
		return fmt.Errorf("%s has no class %q (it has %s)", f.config, f.class, classNames(cfg))
	}
	fsys, err := cgroup.Open(f.root)
	if err != nil {
		return err
	}
	grp, err := classChild(fsys, cfg, class, g)
	if err != nil {
		return err
	}
	defer func() {
		if err := proc.RemoveGroup(grp); err != nil {
			g.logger().Warn("remove the command's group", "err", err)
		}
	}()
	st, err := runArgs(grp, f.noTHP, args)
	if err != nil {
		return err
	}
	if st.Code == exitOOMKilled {
		if line := oomLine(grp, args[0], f.config, idx, class); line != "" {
			fmt.Fprintln(g.stderr, line)
		}
	}
	return &ExitError{Code: st.Code}
}

func classIndex(cfg *config.Config, name string) (int, *config.Class) {
	for i := range cfg.Classes {
		if cfg.Classes[i].Name == name {
			return i, &cfg.Classes[i]
		}
	}
	return -1, nil
}

func classNames(cfg *config.Config) string {
	var names []string
	for _, c := range cfg.Classes {
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ")
}

// classChild creates ROOT/CLASS/memqos-run-PID, with controllers enabled
// down to it and the class's memory_max, after removing the groups that
// dead memqos run processes left in the class. It warns when the class's
// members patterns do not take the new group in, since a running daemon
// would then not govern it.
func classChild(fsys *cgroup.FS, cfg *config.Config, class *config.Class, g *globals) (*cgroup.Group, error) {
	root, err := fsys.Subtree(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("root: %w", err)
	}
	classGroup, err := fsys.CreateEnabled(path.Join(root, class.Name))
	if err != nil {
		return nil, err
	}
	if err := classGroup.EnableControllers("memory"); err != nil {
		return nil, fmt.Errorf("enable memory for the children of %s: %w", classGroup.Name(), err)
	}
	// Groups of kind "run" live below the class; proc's helpers work on
	// the hierarchy whose root is the class.
	sub := &cgroup.FS{Root: classGroup.Path()}
	if _, err := proc.CreateGroup(sub, "run", g.logger()); err != nil {
		return nil, err
	}
	grp := classGroup.Child(proc.GroupName("run"))
	if class.MemoryMax.Bytes > 0 {
		if err := grp.SetLimit(cgroup.MemoryMax, cgroup.Limit(class.MemoryMax.Bytes)); err != nil {
			return nil, errors.Join(err, proc.RemoveGroup(grp))
		}
	}
	rel := path.Join(class.Name, path.Base(grp.Name()))
	if got := cfg.ClassOf(rel); got == nil || got.Name != class.Name {
		g.logger().Warn("the class's members patterns do not take this group in: a running daemon will not govern it as a member of the class; add "+class.Name+"/memqos-run-* to its members",
			"group", grp.Path(), "class", class.Name, "members", strings.Join(class.Members, " "))
	}
	return grp, nil
}

// oomLine explains an OOM kill in grp in one line: the command's peak,
// the limit it hit, and what to do; "" if the kernel recorded no OOM kill
// there.
func oomLine(grp *cgroup.Group, cmd, cfgPath string, idx int, class *config.Class) string {
	ev, err := grp.MemoryEvents()
	if err != nil || ev.OOMKill == 0 {
		return ""
	}
	peak := "an unknown peak (no memory.peak)"
	if p, err := grp.MemoryPeak(); err == nil {
		peak = "a peak of " + mib(p)
	}
	limit, at := effectiveMax(grp)
	var hit, todo string
	switch {
	case limit < 0:
		hit = "with no cgroup limit: the host itself ran out of memory"
		todo = "free memory on the host, or give the class a memory_max"
	case at == grp:
		hit = fmt.Sprintf("against the class's memory_max of %s", limitText(limit))
		todo = fmt.Sprintf("raise classes[%d].memory_max in %s, or run it in a class with more memory", idx, cfgPath)
	default:
		hit = fmt.Sprintf("against the limit of %s set by memory.max of %s", limitText(limit), at.Path())
		todo = fmt.Sprintf("raise memory.max of %s, or run it where more memory is allowed", at.Path())
	}
	return fmt.Sprintf("memqos: %s was OOM-killed in class %s: it reached %s %s; %s",
		cmd, class.Name, peak, hit, todo)
}

// effectiveMax returns the smallest memory.max of g and its ancestors,
// and the group that sets it (g itself when the limits are equal).
func effectiveMax(g *cgroup.Group) (cgroup.Limit, *cgroup.Group) {
	best, at := cgroup.Unlimited, g
	for p := g; !p.IsRoot(); p = p.Parent() {
		if l, err := p.Limit(cgroup.MemoryMax); err == nil && l >= 0 && (best < 0 || l < best) {
			best, at = l, p
		}
	}
	return best, at
}

func limitText(l cgroup.Limit) string {
	return mib(uint64(l)) + " (" + strconv.FormatInt(int64(l), 10) + " bytes)"
}
