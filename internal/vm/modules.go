package vm

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// moduleSet indexes the loadable modules of one kernel's module directory.
type moduleSet struct {
	dir     string
	files   map[string]string // module name → path of its .ko
	builtin map[string]bool   // module names built into the kernel
}

// modName normalises a module name: the kernel treats - and _ alike.
func modName(s string) string {
	s = strings.TrimSuffix(filepath.Base(s), ".ko")
	return strings.ReplaceAll(s, "-", "_")
}

func loadModuleSet(dir string) (*moduleSet, error) {
	ms := &moduleSet{dir: dir, files: map[string]string{}, builtin: map[string]bool{}}
	err := filepath.WalkDir(filepath.Join(dir, "kernel"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".ko") {
			ms.files[modName(p)] = p
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("index modules in %s: %w", dir, err)
	}
	if f, err := os.Open(filepath.Join(dir, "modules.builtin")); err == nil {
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() {
			ms.builtin[modName(s.Text())] = true
		}
	}
	return ms, nil
}

// resolve returns the .ko paths needed to load names, dependencies first.
// Modules built into the kernel are skipped; unknown ones are an error.
func (ms *moduleSet) resolve(names []string) ([]string, error) {
	var order []string
	seen := map[string]bool{}
	var visit func(name string, chain []string) error
	visit = func(name string, chain []string) error {
		name = modName(name)
		if seen[name] || ms.builtin[name] {
			return nil
		}
		p, ok := ms.files[name]
		if !ok {
			return fmt.Errorf("module %s (needed by %s) is neither built in nor in %s", name, strings.Join(append(chain, "the guest"), " ← "), ms.dir)
		}
		seen[name] = true
		deps, err := moduleDepends(p)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := visit(d, append(chain, name)); err != nil {
				return err
			}
		}
		order = append(order, p)
		return nil
	}
	for _, n := range names {
		if err := visit(n, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// moduleDepends reads the "depends=" entry of a module's .modinfo section.
func moduleDepends(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read module %s: %w", path, err)
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("module %s has no .modinfo section", path)
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("read .modinfo of %s: %w", path, err)
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			if len(v) == 0 {
				return nil, nil
			}
			return strings.Split(string(v), ","), nil
		}
	}
	return nil, nil
}
