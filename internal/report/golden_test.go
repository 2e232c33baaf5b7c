package report

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memqos/memqos/internal/bench"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it): %s", path, firstDiff(got, want))
	}
}

// firstDiff describes the first line where got and want differ.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		if i >= len(g) || i >= len(w) || g[i] != w[i] {
			return fmt.Sprintf("line %d:\n got: %s\nwant: %s", i+1, at(g, i), at(w, i))
		}
	}
	return "no line differs"
}

func at(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(end of file)"
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
			files, err := Write(out, r)
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
	fa, err := Write(a, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(b, r); err != nil {
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
