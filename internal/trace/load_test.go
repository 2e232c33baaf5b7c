package trace

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestParseDetectsFormat(t *testing.T) {
	var native bytes.Buffer
	if err := Encode(&native, fullTrace()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, doc, wantName, wantSource string
	}{
		{"native", native.String(), "full", "memqos record"},
		{"podman", podmanDoc(ps(1, "1MB / 1GB")), "task", "podman-stats:task.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := Parse([]byte(tt.doc), "task.json")
			if err != nil {
				t.Fatal(err)
			}
			if tr.Name != tt.wantName || tr.Source != tt.wantSource {
				t.Errorf("name, source = %q, %q; want %q, %q", tr.Name, tr.Source, tt.wantName, tt.wantSource)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		want      error // nil: only the message is checked
		msg       string
	}{
		{"not JSON", "hello", ErrUnknownFormat, "unknown trace format: not a JSON object: invalid character ..."},
		{"not an object", "[1, 2]", ErrUnknownFormat, "unknown trace format: not a JSON object: json: cannot unmarshal array ..."},
		{"other object", `{"rows": []}`, ErrUnknownFormat, `unknown trace format: no "format" field (memqos trace) or "samples" field (podman stats)`},
		{"newer native version", `{"format": "memqos-trace/9", "samples": []}`, nil, `unsupported trace format "memqos-trace/9" (supported: "memqos-trace/1")`},
		{"bad podman", podmanDoc(ps(1, "1QB / 1GB")), ErrUnknownUnit, `sample 0: mem_usage "1QB / 1GB": usage: unknown unit "QB"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc), "x.json")
			if err == nil {
				t.Fatal("no error")
			}
			checkMessage(t, err, tt.msg)
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v is not %v", err, tt.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	tr, err := Load("testdata/podman/asottile__pyupgrade-939.json")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Name != "asottile__pyupgrade-939" || len(tr.Samples) != 5 {
		t.Errorf("name, samples = %q, %d; want asottile__pyupgrade-939, 5", tr.Name, len(tr.Samples))
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(filepath.Join(dir, "missing.json"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: error = %v, want fs.ErrNotExist", err)
	}
	_, err = Load(bad)
	if !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("bad file: error = %v, want ErrUnknownFormat", err)
	}
	checkMessage(t, err, "trace "+bad+": unknown trace format: ...")
}

func TestLoadRef(t *testing.T) {
	tests := []struct{ ref, want string }{
		{"builtin:dask__dask-11628", "dask__dask-11628"},
		{"testdata/podman/pydicom__pydicom-1000.json", "pydicom__pydicom-1000"},
		{"testdata/golden/full.trace.json", "full"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			tr, err := LoadRef(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			if tr.Name != tt.want {
				t.Errorf("name = %q, want %q", tr.Name, tt.want)
			}
		})
	}
}
