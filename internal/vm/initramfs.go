package vm

import (
	"bufio"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/cavaliergopher/cpio"
)

// initramfs writes an uncompressed newc cpio archive, creating each parent
// directory once, before its first entry, as the kernel's unpacker needs.
type initramfs struct {
	w    *cpio.Writer
	dirs map[string]bool
}

func newInitramfs(w io.Writer) *initramfs {
	return &initramfs{w: cpio.NewWriter(w), dirs: map[string]bool{"/": true}}
}

func (r *initramfs) mkdirAll(dir string) error {
	if r.dirs[dir] {
		return nil
	}
	if err := r.mkdirAll(path.Dir(dir)); err != nil {
		return err
	}
	r.dirs[dir] = true
	return r.w.WriteHeader(&cpio.Header{Name: dir[1:], Mode: cpio.TypeDir | 0o755})
}

// addBytes adds a regular file with content data.
func (r *initramfs) addBytes(name string, mode fs.FileMode, data []byte) error {
	if err := r.mkdirAll(path.Dir(name)); err != nil {
		return err
	}
	hdr := &cpio.Header{Name: name[1:], Mode: cpio.TypeReg | cpio.FileMode(mode.Perm()), Size: int64(len(data))}
	if err := r.w.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := r.w.Write(data)
	return err
}

// addFile adds the host file src as name, keeping its permission bits.
func (r *initramfs) addFile(name, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := r.mkdirAll(path.Dir(name)); err != nil {
		return err
	}
	hdr := &cpio.Header{Name: name[1:], Mode: cpio.TypeReg | cpio.FileMode(st.Mode().Perm()), Size: st.Size()}
	if err := r.w.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.Copy(r.w, bufio.NewReaderSize(f, 1<<20)); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return nil
}

// addTree adds src (a file, or a directory with everything below it, with
// symlinks followed) as name.
func (r *initramfs) addTree(name, src string) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return r.addFile(name, src)
	}
	if err := r.mkdirAll(name); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := r.addTree(path.Join(name, e.Name()), filepath.Join(src, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func (r *initramfs) Close() error { return r.w.Close() }

// CheckStatic fails unless path is a statically linked ELF executable, since
// the guest has no dynamic loader or libraries.
func CheckStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s is not an ELF executable: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked; the guest has no libraries (for busybox install busybox-static, for Go build with CGO_ENABLED=0)", path)
		}
	}
	return nil
}
