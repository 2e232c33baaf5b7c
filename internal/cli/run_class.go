package cli

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/proc"
)

// defaultConfig is where memqos run --class and memqos status look for
// the daemon's configuration, as deploy/memqos.service installs it.
const defaultConfig = "/etc/memqos/memqos.yaml"

// runInClass runs args in a new child group of the class f.class and
// removes the group afterwards.
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
	if st.Signal == syscall.SIGKILL {
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
// dead memqos run processes left in the class.
func classChild(fsys *cgroup.FS, cfg *config.Config, class *config.Class, g *globals) (*cgroup.Group, error) {
	classPath := filepath.Join(strings.TrimPrefix(cfg.Root, cgroup.DefaultRoot), class.Name)
	classGroup, err := fsys.CreateEnabled(classPath)
	if err != nil {
		return nil, err
	}
	if err := classGroup.EnableControllers("memory"); err != nil {
		return nil, err
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
			proc.RemoveGroup(grp)
			return nil, err
		}
	}
	return grp, nil
}

// oomLine explains an OOM kill of the command in grp in one line: its
// peak, the limit it hit, and what to do; "" if the kernel recorded no
// OOM kill there.
func oomLine(grp *cgroup.Group, cmd, cfgPath string, idx int, class *config.Class) string {
	ev, err := grp.MemoryEvents()
	if err != nil || ev.OOMKill == 0 {
		return ""
	}
	peak, _ := grp.MemoryPeak()
	limit, at := effectiveMax(grp)
	where := fmt.Sprintf("classes[%d].memory_max in %s", idx, cfgPath)
	return fmt.Sprintf("memqos: %s was OOM-killed in class %s: it peaked at %s against the limit of %s (memory.max of %s); raise %s, or run it in a class with more memory",
		cmd, class.Name, mib(peak), limitText(limit), at, where)
}

// effectiveMax returns the smallest memory.max of g and its ancestors, and
// the group that sets it.
func effectiveMax(g *cgroup.Group) (cgroup.Limit, string) {
	best, at := cgroup.Unlimited, g.Path()
	for p := g; !p.IsRoot(); p = p.Parent() {
		if l, err := p.Limit(cgroup.MemoryMax); err == nil && l >= 0 && (best < 0 || l < best) {
			best, at = l, p.Path()
		}
	}
	return best, at
}

func limitText(l cgroup.Limit) string {
	if l < 0 {
		return "max"
	}
	return mib(uint64(l)) + " (" + strconv.FormatInt(int64(l), 10) + " bytes)"
}
