package actuate

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// fakeOps records what is done to one member's ops into a shared log.
type fakeOps struct {
	name    string
	log     *[]string
	linked  bool
	closed  bool
	linkErr error
}

func (f *fakeOps) Link() error {
	*f.log = append(*f.log, "link "+f.name)
	if f.linkErr != nil {
		return f.linkErr
	}
	if f.linked || f.closed {
		return errors.New("link " + f.name + ": linked or closed")
	}
	f.linked = true
	return nil
}

func (f *fakeOps) Unlink() error {
	*f.log = append(*f.log, "unlink "+f.name)
	f.linked = false
	return nil
}

func (f *fakeOps) Close() error {
	*f.log = append(*f.log, "close "+f.name)
	if f.linked {
		return errors.New("close " + f.name + " while linked")
	}
	f.closed = true
	return nil
}

// take returns the log so far, sorted (members are visited in map
// order), and empties it.
func take(log *[]string) string {
	s := slices.Clone(*log)
	slices.Sort(s)
	*log = (*log)[:0]
	return strings.Join(s, ", ")
}

func TestOpsLinksFollowHooksAndLifts(t *testing.T) {
	var log []string
	l := newOpsLinks()
	a, b := &fakeOps{name: "a", log: &log}, &fakeOps{name: "b", log: &log}
	for _, step := range []struct {
		name   string
		do     func() error
		want   string
		linked int
	}{
		{"add while far", func() error { return l.add("a", a) }, "", 0},
		{"near", func() error { return l.set(true) }, "link a", 1},
		{"near again", func() error { return l.set(true) }, "", 1},
		{"add while near", func() error { return l.add("b", b) }, "link b", 2},
		{"lift", func() error { return l.lift("a") }, "unlink a", 1},
		{"lift again", func() error { return l.lift("a") }, "", 1},
		{"near, a lifted", func() error { return l.set(true) }, "", 1},
		{"far", func() error { return l.set(false) }, "unlink b", 0},
		{"unlift while far", func() error { return l.unlift("a") }, "", 0},
		{"near after unlift", func() error { return l.set(true) }, "link a, link b", 2},
		{"remove", func() error { return l.remove("b") }, "close b, unlink b", 1},
		{"remove unknown", func() error { return l.remove("c") }, "", 1},
		{"close", l.close, "close a, unlink a", 0},
	} {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got := take(&log); got != step.want {
			t.Fatalf("%s: %q; want %q", step.name, got, step.want)
		}
		if n := l.linked(); n != step.linked {
			t.Fatalf("%s: %d linked; want %d", step.name, n, step.linked)
		}
	}
	if !a.closed || !b.closed {
		t.Errorf("closed: a %v, b %v; want both", a.closed, b.closed)
	}
}

// TestOpsLinksRetryFailedLink: ops that failed to attach are attached at
// the next set, and a member lifted meanwhile is left alone.
func TestOpsLinksRetryFailedLink(t *testing.T) {
	var log []string
	l := newOpsLinks()
	a := &fakeOps{name: "a", log: &log, linkErr: errors.New("EBUSY")}
	if err := l.set(true); err != nil {
		t.Fatal(err)
	}
	if err := l.add("a", a); err == nil || l.linked() != 0 {
		t.Fatalf("add with a failing link: %v, %d linked; want the error, none", err, l.linked())
	}
	a.linkErr = nil
	if err := l.set(true); err != nil || l.linked() != 1 {
		t.Fatalf("set after the failure: %v, %d linked; want 1", err, l.linked())
	}
	if got := take(&log); got != "link a, link a" {
		t.Fatalf("log %q", got)
	}
	if err := l.remove("a"); err != nil || !a.closed || a.linked {
		t.Fatalf("remove: %v, closed %v, linked %v", err, a.closed, a.linked)
	}
}
