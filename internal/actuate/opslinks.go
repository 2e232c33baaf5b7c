package actuate

import "errors"

// memberOps is one member's memcg_bpf_ops, loaded: Link attaches them to
// the member's cgroup, Unlink detaches them (and leaves them detached
// even when it fails: the link is released), Close unloads them (after
// Unlink).
type memberOps interface {
	Link() error
	Unlink() error
	Close() error
}

// opsLinks keeps each member's loaded ops attached to its cgroup exactly
// while the kernel's hooks are wanted (Plan.Hooks) and the member is not
// lifted. Attaching loaded ops is cheap (a BPF_LINK_CREATE); loading them
// is not, so members' ops are loaded when they are added and stay loaded
// until they are removed.
type opsLinks struct {
	on      bool
	members map[string]*opsLink // by member path
}

type opsLink struct {
	ops    memberOps
	linked bool
	lifted bool
}

func newOpsLinks() *opsLinks { return &opsLinks{members: map[string]*opsLink{}} }

// add takes a member's loaded ops, and attaches them if the hooks are
// wanted. Ops that fail to attach stay loaded: set tries again.
func (l *opsLinks) add(path string, o memberOps) error {
	m := &opsLink{ops: o}
	l.members[path] = m
	return l.sync(m)
}

// remove detaches and unloads a member's ops.
func (l *opsLinks) remove(path string) error {
	m := l.members[path]
	if m == nil {
		return nil
	}
	delete(l.members, path)
	var err error
	if m.linked {
		err = m.ops.Unlink()
	}
	return errors.Join(err, m.ops.Close())
}

// set says whether the hooks are wanted, and attaches or detaches every
// member's ops that is not as it should be (again after a failure).
func (l *opsLinks) set(on bool) error {
	l.on = on
	var errs []error
	for _, m := range l.members {
		errs = append(errs, l.sync(m))
	}
	return errors.Join(errs...)
}

// lift detaches a member's ops until unlift.
func (l *opsLinks) lift(path string) error {
	if m := l.members[path]; m != nil && !m.lifted {
		m.lifted = true
		return l.sync(m)
	}
	return nil
}

// unlift attaches a lifted member's ops again, if the hooks are wanted.
func (l *opsLinks) unlift(path string) error {
	if m := l.members[path]; m != nil && m.lifted {
		m.lifted = false
		return l.sync(m)
	}
	return nil
}

// sync attaches or detaches m's ops as the hooks and its lift want.
func (l *opsLinks) sync(m *opsLink) error {
	want := l.on && !m.lifted
	if want == m.linked {
		return nil
	}
	if want {
		if err := m.ops.Link(); err != nil {
			return err
		}
		m.linked = true
		return nil
	}
	m.linked = false
	return m.ops.Unlink()
}

// linked returns how many members have their ops attached.
func (l *opsLinks) linked() int {
	n := 0
	for _, m := range l.members {
		if m.linked {
			n++
		}
	}
	return n
}

// close detaches and unloads every member's ops.
func (l *opsLinks) close() error {
	var errs []error
	for p := range l.members {
		errs = append(errs, l.remove(p))
	}
	return errors.Join(errs...)
}
