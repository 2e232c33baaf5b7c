package cgroup

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// ErrOutsideMount means an absolute path does not lie below the cgroup
// mount it was given for.
var ErrOutsideMount = errors.New("outside the cgroup mount")

// Subtree returns root, the configured root of a subtree memqos owns, as
// a path relative to the mount fsys.Root ("memqos", "a/b"), the form
// Group takes. A relative root is relative to the mount; an absolute one
// must be the full path of a group below fsys.Root. It fails if root has
// a "." or ".." element, names the whole hierarchy, or is absolute and
// not below fsys.Root (an error matching ErrOutsideMount that names both).
func (fsys *FS) Subtree(root string) (string, error) {
	for _, el := range strings.Split(strings.Trim(root, "/"), "/") {
		if el == ".." || el == "." {
			return "", fmt.Errorf("%q: %q is not allowed in a cgroup path", root, el)
		}
	}
	rel := root
	if filepath.IsAbs(root) {
		mount := filepath.Clean(fsys.Root)
		r, err := filepath.Rel(mount, filepath.Clean(root))
		if err != nil || r == ".." || strings.HasPrefix(r, "../") {
			return "", fmt.Errorf("%s is not below the cgroup mount %s (give a path relative to the mount, or a full path under it): %w",
				root, mount, ErrOutsideMount)
		}
		rel = r
	}
	rel = strings.Trim(filepath.Clean("/"+rel), "/")
	if rel == "" {
		return "", errors.New("memqos cannot own the whole cgroup hierarchy; name a subtree")
	}
	return rel, nil
}
