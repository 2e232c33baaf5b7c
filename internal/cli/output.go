package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// output is a result file written atomically. createOutput makes a
// temporary file beside the destination, which proves that it can be
// written before any work starts; commit renames it into place, and close
// removes it if commit never ran.
type output struct {
	path string
	tmp  *os.File
}

// createOutput prepares to write path.
func createOutput(path string) (*output, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, fmt.Errorf("output %s: is a directory", path)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("output %s: cannot create a file in %s: %w", path, dir, err)
	}
	return &output{path: path, tmp: tmp}, nil
}

// commit writes the content with write and moves the file into place.
func (o *output) commit(write func(io.Writer) error) error {
	err := write(o.tmp)
	if err == nil {
		err = o.tmp.Chmod(0o644)
	}
	if cerr := o.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(o.tmp.Name(), o.path)
	}
	if err != nil {
		os.Remove(o.tmp.Name())
		return fmt.Errorf("write %s: %w", o.path, err)
	}
	o.tmp = nil
	return nil
}

// close removes the temporary file unless commit moved it into place.
func (o *output) close() error {
	if o.tmp == nil {
		return nil
	}
	err := errors.Join(o.tmp.Close(), os.Remove(o.tmp.Name()))
	o.tmp = nil
	if errors.Is(err, os.ErrClosed) {
		return nil
	}
	return err
}

// writeJSON writes v to w as indented JSON, the form of every --json and
// result file memqos writes.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
