package cli

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// writeOutput writes content to path through createOutput and commit.
func writeOutput(t *testing.T, path string, stdout io.Writer, content string) {
	t.Helper()
	out, err := createOutput(path, stdout)
	if err != nil {
		t.Fatal(err)
	}
	defer out.close()
	if err := out.commit(func(w io.Writer) error { _, err := io.WriteString(w, content); return err }); err != nil {
		t.Fatal(err)
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestOutputStdout(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	var stdout bytes.Buffer
	writeOutput(t, "-", &stdout, "result\n")
	if stdout.String() != "result\n" {
		t.Errorf("stdout %q", stdout.String())
	}
	if _, err := os.Lstat(filepath.Join(dir, "-")); err == nil {
		t.Error(`-o - created a file named "-"`)
	}
}

func TestOutputRegularFile(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.json")
	if err := os.WriteFile(old, []byte("a much longer previous content\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	writeOutput(t, old, nil, "new\n")
	st, err := os.Lstat(old)
	if err != nil || st.Mode() != 0o600 || readString(t, old) != "new\n" {
		t.Errorf("replaced file: mode %v, %v, content %q; want 0600 and the new content", st.Mode(), err, readString(t, old))
	}
	fresh := filepath.Join(dir, "new.json")
	writeOutput(t, fresh, nil, "x\n")
	if st, err := os.Stat(fresh); err != nil || st.Mode() != 0o644 {
		t.Errorf("new file: %v, %v; want mode 0644", st.Mode(), err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestOutputSymlink checks that a symlink is written through, not
// replaced: the link stays, its target gets the content.
func TestOutputSymlink(t *testing.T) {
	dir := t.TempDir()
	target, link := filepath.Join(dir, "target"), filepath.Join(dir, "link")
	if err := os.WriteFile(target, []byte("a much longer previous content\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	writeOutput(t, link, nil, "new\n")
	if st, err := os.Lstat(link); err != nil || st.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v, %v", st.Mode(), err)
	}
	if got := readString(t, target); got != "new\n" {
		t.Errorf("target holds %q; want the new content", got)
	}
}

// TestOutputFIFO checks that a FIFO is written through, so a reader gets
// the result and the FIFO stays.
func TestOutputFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		b, _ := os.ReadFile(fifo)
		got <- string(b)
	}()
	writeOutput(t, fifo, nil, "through the pipe\n")
	if s := <-got; s != "through the pipe\n" {
		t.Errorf("reader got %q", s)
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v, %v", st.Mode(), err)
	}
}

// TestOutputAbandoned checks that an output closed without a commit, as
// when the command fails, leaves the file as it was and no temporary
// file beside it.
func TestOutputAbandoned(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.json")
	if err := os.WriteFile(old, []byte("before\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{old, filepath.Join(dir, "new.json")} {
		out, err := createOutput(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := out.close(); err != nil {
			t.Fatal(err)
		}
	}
	if got := readString(t, old); got != "before\n" {
		t.Errorf("old file holds %q", got)
	}
	if names, _ := os.ReadDir(dir); len(names) != 1 {
		t.Errorf("directory holds %v; want only old.json", names)
	}
}
