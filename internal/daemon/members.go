package daemon

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/memqos/memqos/internal/config"
)

// classify returns the class whose members include rel, a cgroup path
// relative to the root, or nil: see config.Config.ClassOf.
func classify(cfg *config.Config, rel string) *config.Class { return cfg.ClassOf(rel) }

// scanTree lists the cgroup directories below dir, as paths relative to
// it, sorted (parents before children).
func scanTree(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p != dir {
				return nil // removed while we walked
			}
			return err
		}
		if d.IsDir() && p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}
