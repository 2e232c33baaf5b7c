package vm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// KernelRelease returns the release string of an x86 bzImage (for example
// "6.1.0-56-cloud-amd64"), read from its boot protocol header.
func KernelRelease(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var hdr [0x210]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if string(hdr[0x202:0x206]) != "HdrS" {
		return "", fmt.Errorf("%s is not an x86 bzImage (no HdrS boot header)", path)
	}
	off := int64(binary.LittleEndian.Uint16(hdr[0x20e:])) + 0x200
	var buf [256]byte
	n, err := f.ReadAt(buf[:], off)
	if n == 0 {
		return "", fmt.Errorf("read version string of %s: %w", path, err)
	}
	s, _, _ := bytes.Cut(buf[:n], []byte{0})
	release, _, _ := strings.Cut(string(s), " ")
	if release == "" {
		return "", fmt.Errorf("%s has an empty version string", path)
	}
	return release, nil
}

// FindModules returns the module directory that belongs to kernel: the
// lib/modules/RELEASE directory of an unpacked kernel package (the kernel
// being boot/vmlinuz-RELEASE beside it), or the host's /lib/modules/RELEASE.
// It returns "" if there is none, as for kernels with every driver built in.
func FindModules(kernel string) string {
	release, err := KernelRelease(kernel)
	if err != nil {
		return ""
	}
	for _, dir := range []string{
		filepath.Join(filepath.Dir(kernel), "..", "lib", "modules", release),
		filepath.Join(filepath.Dir(kernel), "lib", "modules", release),
		filepath.Join("/lib/modules", release),
	} {
		if st, err := os.Stat(filepath.Join(dir, "kernel")); err == nil && st.IsDir() {
			return filepath.Clean(dir)
		}
	}
	return ""
}
