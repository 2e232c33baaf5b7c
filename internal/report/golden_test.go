package report

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/memqos/memqos/internal/bench"
	"github.com/memqos/memqos/internal/testutil"
)

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testutil.Golden(t, filepath.Join("testdata", name), got)
}

func TestWriteGolden(t *testing.T) {
	tests := []struct {
		name string
		r    func(*testing.T) *bench.Results
	}{
		{"isolation", func(t *testing.T) *bench.Results { return isolation(t, true) }},
		{"overhead", overhead},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r(t)
			out := t.TempDir()
			files, err := Write(out, r, analyze(t, r))
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Base(files[0]) != ReportFile {
				t.Errorf("first file %s, want %s", files[0], ReportFile)
			}
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join(tt.name, filepath.Base(f)), b)
			}
			checkNoStrayGolden(t, tt.name, files)
		})
	}
}

// checkNoStrayGolden fails when a golden file is no longer written.
func checkNoStrayGolden(t *testing.T, dir string, files []string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join("testdata", dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(files) {
		t.Errorf("testdata/%s has %d files, Write wrote %d", dir, len(entries), len(files))
	}
}

func TestWriteDeterministic(t *testing.T) {
	r := isolation(t, true)
	a, b := t.TempDir(), t.TempDir()
	fa, err := Write(a, r, analyze(t, r))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(b, r, analyze(t, r)); err != nil {
		t.Fatal(err)
	}
	for _, f := range fa {
		x, _ := os.ReadFile(f)
		y, err := os.ReadFile(filepath.Join(b, filepath.Base(f)))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between two writes (%v)", filepath.Base(f), err)
		}
	}
}

func TestSummaryTableGolden(t *testing.T) {
	for name, r := range map[string]*bench.Results{"isolation": isolation(t, true), "overhead": overhead(t)} {
		var buf bytes.Buffer
		if err := SummaryTable(&buf, analyze(t, r)); err != nil {
			t.Fatal(err)
		}
		golden(t, "table-"+name+".txt", buf.Bytes())
	}
}
