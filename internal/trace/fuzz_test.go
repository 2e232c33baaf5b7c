package trace

import (
	"bytes"
	"os"
	"reflect"
	"testing"
)

// addFileSeeds adds the files named to the seed corpus of f.
func addFileSeeds(f *testing.F, paths ...string) {
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// FuzzImportPodman checks that the podman importer never panics and that
// what it accepts is a valid trace that survives Encode and Decode.
func FuzzImportPodman(f *testing.F) {
	addFileSeeds(f, "testdata/podman/pydicom__pydicom-1000.json", "testdata/podman/asottile__pyupgrade-939.json")
	for _, s := range []string{
		podmanDoc(ps(1, "185.5MB / 134.5GB"), ps(2, "0B / 0B")),
		podmanDoc(ps(1, "1.5GiB / 2TiB"), ps(1, "3kB / 1KB")),
		podmanDoc(ps(2, "1MB / 1GB"), ps(1, "1MB / 1GB")),
		podmanDoc(ps(1, "12.3XB / 1GB")),
		podmanDoc(`{"epoch": null, "mem_usage": "1MB / 1GB"}`),
		`{"samples": []}`,
		`{"samples": [1]}`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := ImportPodman(bytes.NewReader(data), "fuzz.json")
		if err != nil {
			return
		}
		if err := tr.Validate(); err != nil {
			t.Fatalf("imported trace is invalid: %v", err)
		}
		checkRoundTrip(t, tr)
	})
}

// FuzzDecode checks that Decode never panics and that a trace it accepts
// round-trips through Encode and Decode to an equal trace.
func FuzzDecode(f *testing.F) {
	addFileSeeds(f, "testdata/golden/full.trace.json", "testdata/golden/pydicom__pydicom-1000.trace.json")
	ok := `{"t_ms": 0, "total": 1}`
	for _, s := range []string{
		nativeDoc(ok),
		nativeDoc(ok+`, {"t_ms": 0, "total": 0, "anon": 0, "memory_events": {}, "pressure": {"some": {"avg10": 1e-300}}}`, `"events": []`),
		nativeDoc(`{"t_ms": 5, "total": 1}, {"t_ms": 4, "total": 1}`),
		nativeDoc(ok, `"events": [{"t_ms": 1, "kind": "k", "text": "\u00e9\ud800"}]`),
		`{"format": "memqos-trace/2"}`,
		`{"format": "memqos-trace/1", "name": "x", "samples": null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		checkRoundTrip(t, tr)
	})
}

func checkRoundTrip(t *testing.T, tr *Trace) {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, tr); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	got, err := Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("Decode of encoded trace: %v\n%s", err, buf.Bytes())
	}
	if !reflect.DeepEqual(got, tr) {
		t.Fatalf("round trip changed the trace:\n got %+v\nwant %+v", got, tr)
	}
}
