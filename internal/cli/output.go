package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"
)

// output is where a command writes its result file, -o FILE. "-" is
// stdout. A regular FILE, or one that does not exist yet, is written to a
// temporary file beside it and renamed into place (renameio), keeping
// the mode of the file it replaces (0644 for a new one). Anything else, a
// symlink or a special file such as /dev/stdout or a FIFO, is opened as it
// is and written through. createOutput proves that FILE can be written before
// any work starts; commit writes the result; close releases what commit
// did not use.
type output struct {
	path   string
	stdout io.Writer             // for "-"
	tmp    *renameio.PendingFile // for a regular file
	file   *os.File              // for a symlink or special file
}

// createOutput prepares to write path; stdout is where "-" goes.
func createOutput(path string, stdout io.Writer) (*output, error) {
	if path == "-" {
		return &output{path: path, stdout: stdout}, nil
	}
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return createTemp(path, 0o644)
	case err != nil:
		return nil, fmt.Errorf("output %s: %w", path, err)
	case st.IsDir():
		return nil, fmt.Errorf("output %s: is a directory", path)
	case st.Mode().IsRegular():
		return createTemp(path, st.Mode().Perm())
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", path, unwrapPath(err))
	}
	return &output{path: path, file: f}, nil
}

// createTemp makes the temporary file, beside path, that will replace
// path with mode.
func createTemp(path string, mode fs.FileMode) (*output, error) {
	dir := filepath.Dir(path)
	tmp, err := renameio.NewPendingFile(path, renameio.WithTempDir(dir), renameio.WithStaticPermissions(mode))
	if err != nil {
		return nil, fmt.Errorf("output %s: cannot create a file in %s: %w", path, dir, unwrapPath(err))
	}
	return &output{path: path, tmp: tmp}, nil
}

// unwrapPath drops the path from err, which the caller names already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// isStdout reports whether the output is memqos's stdout ("-o -").
func (o *output) isStdout() bool { return o.stdout != nil }

// commit writes the content with write to the output.
func (o *output) commit(write func(io.Writer) error) error {
	var err error
	switch {
	case o.stdout != nil:
		err = write(o.stdout)
	case o.file != nil:
		err = o.writeThrough(write)
	default:
		err = o.replace(write)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", o.path, err)
	}
	return nil
}

// writeThrough writes to the file opened as it is, truncating it first if
// it is (a symlink to) a regular file.
func (o *output) writeThrough(write func(io.Writer) error) error {
	f := o.file
	o.file = nil
	err := truncateRegular(f)
	if err == nil {
		err = write(f)
	}
	return errors.Join(err, f.Close())
}

func truncateRegular(f *os.File) error {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return err
	}
	return f.Truncate(0)
}

// replace writes the temporary file and renames it over the path.
func (o *output) replace(write func(io.Writer) error) error {
	tmp := o.tmp
	o.tmp = nil
	defer tmp.Cleanup()
	if err := write(tmp); err != nil {
		return err
	}
	return tmp.CloseAtomicallyReplace()
}

// close removes the temporary file, or closes the file written through,
// unless commit used it.
func (o *output) close() error {
	switch {
	case o.file != nil:
		err := o.file.Close()
		o.file = nil
		return err
	case o.tmp != nil:
		err := o.tmp.Cleanup()
		o.tmp = nil
		return err
	}
	return nil
}

// writeJSON writes v to w as indented JSON, the form of every --json and
// result file memqos writes.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
