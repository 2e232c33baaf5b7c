package cgroup_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/memqos/memqos/internal/cgroup"
)

func TestSubtree(t *testing.T) {
	for _, tc := range []struct {
		name, mount, root, want string
		err                     string // substring of the error; "" for none
		outside                 bool
	}{
		{name: "relative", mount: "/sys/fs/cgroup", root: "memqos", want: "memqos"},
		{name: "relative nested", mount: "/sys/fs/cgroup", root: "a/b/", want: "a/b"},
		{name: "full path", mount: "/sys/fs/cgroup", root: "/sys/fs/cgroup/memqos", want: "memqos"},
		{name: "full path other mount", mount: "/mnt/cg", root: "/mnt/cg/memqos", want: "memqos"},
		{name: "mount with slash", mount: "/mnt/cg/", root: "/mnt/cg/a/b", want: "a/b"},
		{name: "relative other mount", mount: "/mnt/cg", root: "mnt/cg/memqos", want: "mnt/cg/memqos"},
		{name: "outside", mount: "/mnt/cg", root: "/sys/fs/cgroup/memqos", outside: true,
			err: "/sys/fs/cgroup/memqos is not below the cgroup mount /mnt/cg"},
		{name: "sibling prefix", mount: "/mnt/cg", root: "/mnt/cgx/memqos", outside: true, err: "/mnt/cg"},
		{name: "absolute not under mount", mount: "/sys/fs/cgroup", root: "/memqos", outside: true, err: "/memqos"},
		{name: "mount itself", mount: "/mnt/cg", root: "/mnt/cg/", err: "whole cgroup hierarchy"},
		{name: "empty", mount: "/mnt/cg", root: "", err: "whole cgroup hierarchy"},
		{name: "dotdot", mount: "/sys/fs/cgroup", root: "a/../b", err: `"a/../b": ".." is not allowed`},
		{name: "dotdot escaping", mount: "/mnt/cg", root: "/mnt/cg/../etc", err: `".." is not allowed`},
		{name: "dot", mount: "/sys/fs/cgroup", root: "./a", err: `"." is not allowed`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := &cgroup.FS{Root: tc.mount}
			got, err := fsys.Subtree(tc.root)
			if tc.err == "" {
				if err != nil || got != tc.want {
					t.Fatalf("Subtree(%q) = %q, %v; want %q", tc.root, got, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("Subtree(%q) = %q, %v; want an error with %q", tc.root, got, err, tc.err)
			}
			if errors.Is(err, cgroup.ErrOutsideMount) != tc.outside {
				t.Errorf("errors.Is(%v, ErrOutsideMount) = %v; want %v", err, !tc.outside, tc.outside)
			}
		})
	}
}
