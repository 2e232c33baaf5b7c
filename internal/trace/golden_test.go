package trace

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/memqos/memqos/internal/testutil"
)

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
			testutil.Golden(t, filepath.Join("testdata", "golden", tt.name+".trace.json"), buf.Bytes())
		})
	}
}
