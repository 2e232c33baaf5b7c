package proc

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"golang.org/x/sys/unix"
)

// RemoveTimeout bounds the removal of a group, killing what is left in it.
const RemoveTimeout = 30 * time.Second

// GroupName returns the name of a group of kind ("record", "replay",
// "selftest") that this process owns: memqos-KIND[-PART...]-PID, where
// PID is this process's. RemoveStale recognises it after this process
// dies.
func GroupName(kind string, parts ...string) string {
	return strings.Join(append(append([]string{"memqos", kind}, parts...), strconv.Itoa(os.Getpid())), "-")
}

// CreateGroup removes the stale groups of kind below the root (see
// RemoveStale), then creates GroupName(kind) there.
func CreateGroup(fsys *cgroup.FS, kind string, log *slog.Logger) (*cgroup.Group, error) {
	if err := RemoveStale(fsys, kind, log); err != nil {
		return nil, err
	}
	g, err := fsys.Create(GroupName(kind))
	if err != nil {
		return nil, fmt.Errorf("create %s cgroup: %w", kind, err)
	}
	return g, nil
}

// RemoveGroup removes g and its descendants, killing what is left in them,
// within RemoveTimeout.
func RemoveGroup(g *cgroup.Group) error {
	ctx, cancel := context.WithTimeout(context.Background(), RemoveTimeout)
	defer cancel()
	if err := g.Remove(ctx, nil); err != nil {
		return fmt.Errorf("remove cgroup %s: %w", g.Name(), err)
	}
	return nil
}

// RemoveStale removes the groups of kind directly below the root that a
// memqos process which no longer exists left behind: those named
// memqos-KIND-...-PID whose PID is dead. A crash, or SIGKILL, leaves no
// limits and no processes behind for longer than the next run of the same
// kind. Each removal is logged; a group that cannot be removed is logged
// and left.
func RemoveStale(fsys *cgroup.FS, kind string, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	groups, err := fsys.Group("").Children()
	if err != nil {
		return err
	}
	for _, g := range groups {
		if !staleName(strings.TrimPrefix(g.Name(), "/"), kind) {
			continue
		}
		log.Warn("removing a group left by a memqos process that died", "kind", kind, "group", g.Path())
		if err := RemoveGroup(g); err != nil {
			log.Warn("stale group", "err", err)
		}
	}
	return nil
}

// staleName reports whether name is memqos-KIND-...-PID with PID dead.
func staleName(name, kind string) bool {
	rest, ok := strings.CutPrefix(name, "memqos-"+kind+"-")
	if !ok {
		return false
	}
	pid, err := strconv.Atoi(rest[strings.LastIndexByte(rest, '-')+1:])
	return err == nil && pid > 0 && !alive(pid)
}

// alive reports whether process pid exists; EPERM means it does, but
// belongs to another user.
func alive(pid int) bool {
	return unix.Kill(pid, 0) != unix.ESRCH
}
