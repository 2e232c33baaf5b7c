package trace

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// The -update flag rewrites golden files. It is defined here only if no
// imported package (such as a shared test helper) has defined it already.
var _ = defineUpdateFlag()

func defineUpdateFlag() bool {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata")
	}
	return true
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// golden compares got with the file at path, or rewrites the file when the
// test runs with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if updating() {
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
		t.Errorf("output differs from %s (run go test -update to accept):\n%s", path, got)
	}
}

// TestImportGolden imports real podman traces, the built-in ones and a
// small one with a trailing "0B / 0B" sample, and compares their native
// encoding with golden files.
func TestImportGolden(t *testing.T) {
	tests := []struct{ name, ref string }{
		{"dask__dask-11628", "builtin:dask__dask-11628"},
		{"sigmavirus24__github3.py-673", "builtin:sigmavirus24__github3.py-673"},
		{"pydicom__pydicom-1000", "testdata/podman/pydicom__pydicom-1000.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := LoadRef(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := Encode(&buf, tr); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "golden", tt.name+".trace.json"), buf.Bytes())
		})
	}
}
