package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The guest's /out is an ext4 file system, without a journal, on a raw
// disk image. The guest syncs it while the command runs, so what was
// written survives a timeout, a kernel panic or a signal to memqos; the
// host reads the image with e2fsprogs after qemu has stopped, without
// mounting it and without privileges.

// partialMarker is the file, in the output directory, that says the copy
// of /out is partial and why.
const partialMarker = ".partial"

// makeOutDisk creates the output disk: an ext4 file system of mb MiB with
// no journal, so that a sync in the guest puts both data and metadata in
// place. With seed set, the file system starts with a copy of that host
// directory's contents (mkfs.ext4 -d).
func makeOutDisk(ctx context.Context, img string, mb int, seed string) error {
	opts := []string{"-O", "^has_journal"}
	if seed != "" {
		if st, err := os.Stat(seed); err != nil {
			return fmt.Errorf("seed of the output disk: %w", err)
		} else if !st.IsDir() {
			return fmt.Errorf("seed of the output disk: %s is not a directory", seed)
		}
		opts = append(opts, "-d", seed)
	}
	return makeExt4(ctx, img, mb, opts...)
}

// copyOut copies the directories and regular files of the ext4 image img
// into dir. Links, special files and lost+found are not copied. When the
// guest did not shut down cleanly, dirty is true and the image is checked
// and repaired (e2fsck -y) first. tmp is a scratch directory for the dump.
func copyOut(ctx context.Context, img, dir, tmp string, dirty bool) error {
	if dirty {
		if err := fsck(ctx, img); err != nil {
			return err
		}
	}
	dump, err := os.MkdirTemp(tmp, "out-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dump)
	if err := debugfsDump(ctx, img, dump); err != nil {
		return err
	}
	os.RemoveAll(filepath.Join(dump, "lost+found"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return copyTree(dump, dir)
}

// fsck repairs img in place. e2fsck exits 1 or 2 when it fixed something,
// which is expected after an unclean stop.
func fsck(ctx context.Context, img string) error {
	e2fsck, err := lookE2fsprogs("e2fsck")
	if err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, e2fsck, "-f", "-y", img).CombinedOutput()
	var ee *exec.ExitError
	if err != nil && (!errors.As(err, &ee) || ee.ExitCode() > 2) {
		return fmt.Errorf("e2fsck of the output disk: %w: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// debugfsDump dumps the whole file system in img into dir.
func debugfsDump(ctx context.Context, img, dir string) error {
	debugfs, err := lookE2fsprogs("debugfs")
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, debugfs, "-R", "rdump / "+dir, img)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("debugfs of the output disk: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	// debugfs prints its version first, and reports errors on stderr
	// while still exiting 0.
	var msgs []string
	for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if l != "" && !strings.HasPrefix(l, "debugfs ") {
			msgs = append(msgs, l)
		}
	}
	if len(msgs) > 0 {
		return fmt.Errorf("debugfs of the output disk: %s", strings.Join(msgs, "; "))
	}
	return nil
}

func lookE2fsprogs(name string) (string, error) {
	for _, p := range []string{name, "/sbin/" + name, "/usr/sbin/" + name} {
		if path, err := exec.LookPath(p); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("reading the guest's /out needs %s (apt install e2fsprogs)", name)
}

// copyTree copies the directories and regular files under src into dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(to, 0o755)
		case d.Type().IsRegular():
			return copyFile(p, to)
		}
		return nil // links and special files are not copied back
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, st.Mode().Perm()|0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}

// PartialOutError is a failed run whose /out was still copied: the files
// the guest had written are in Dir, which holds a partial marker.
type PartialOutError struct {
	Dir string
	Err error // why the run failed
	// Flushed says the guest synced /out when asked, just before qemu was
	// stopped. Without it (after a panic, or a guest too busy to answer),
	// files written in the guest's last outSyncPeriod seconds may be
	// missing or incomplete.
	Flushed bool
}

// mark writes the partial marker into e.Dir: why the run failed, and
// whether the last writes are there.
func (e *PartialOutError) mark() error {
	last := "the guest synced /out when asked, before it was stopped"
	if !e.Flushed {
		last = fmt.Sprintf("the guest did not confirm a last sync of /out: files written in its last %d s may be missing or incomplete", outSyncPeriod)
	}
	text := fmt.Sprintf("%v\n%s\n", e.Err, last)
	return os.WriteFile(filepath.Join(e.Dir, partialMarker), []byte(text), 0o644)
}

func (e *PartialOutError) Error() string {
	return fmt.Sprintf("%v; /out is partial: what the guest had written is in %s (see %s)",
		e.Err, e.Dir, filepath.Join(e.Dir, partialMarker))
}

func (e *PartialOutError) Unwrap() error { return e.Err }
