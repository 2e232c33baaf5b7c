package trace

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestBuiltinNames(t *testing.T) {
	want := []string{"dask__dask-11628", "dask__dask-2205", "pre-commit__pre-commit-2524", "sigmavirus24__github3.py-673"}
	if got := BuiltinNames(); !slices.Equal(got, want) {
		t.Errorf("BuiltinNames = %q, want %q", got, want)
	}
}

// TestBuiltin checks the built-in traces against what the files hold:
// 95 samples over 98.3 s; 100 samples of which the last is "0B / 0B";
// 353 samples over 367.9 s; 315 samples, the last "0B / 0B".
func TestBuiltin(t *testing.T) {
	tests := []struct {
		name     string
		samples  int
		duration time.Duration
		source   string
	}{
		{"dask__dask-11628", 95, 98338 * time.Millisecond, "podman-stats:dask__dask-11628.json"},
		{"sigmavirus24__github3.py-673", 99, 101604 * time.Millisecond, "podman-stats:sigmavirus24__github3.py-673.json"},
		{"dask__dask-2205", 353, 367920 * time.Millisecond, "podman-stats:dask__dask-2205.json"},
		{"pre-commit__pre-commit-2524", 314, 326171 * time.Millisecond, "podman-stats:pre-commit__pre-commit-2524.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := Builtin(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if len(tr.Samples) != tt.samples || tr.Duration() != tt.duration || tr.Source != tt.source {
				t.Errorf("samples, duration, source = %d, %v, %q; want %d, %v, %q",
					len(tr.Samples), tr.Duration(), tr.Source, tt.samples, tt.duration, tt.source)
			}
		})
	}
}

func TestBuiltinUnknown(t *testing.T) {
	for _, name := range []string{"nope", "", "../trace", "defaults/dask__dask-11628"} {
		_, err := Builtin(name)
		if !errors.Is(err, ErrUnknownBuiltin) {
			t.Errorf("Builtin(%q) error = %v, want ErrUnknownBuiltin", name, err)
		}
	}
	_, err := Builtin("nope")
	checkMessage(t, err, `unknown builtin trace "nope" (have: dask__dask-11628, dask__dask-2205, pre-commit__pre-commit-2524, sigmavirus24__github3.py-673)`)
}
