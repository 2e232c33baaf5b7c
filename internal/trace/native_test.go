package trace

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/memqos/memqos/internal/testutil"
)

func ptr[T any](v T) *T { return &v }

// fullTrace uses every field of the format.
func fullTrace() *Trace {
	return &Trace{
		Name:       "full",
		Source:     "memqos record",
		IntervalMS: 100,
		Samples: []Sample{
			{TimeMS: 0, Total: 1_000_000},
			{TimeMS: 100, Total: 3_000_000, Anon: ptr[int64](2_000_000), File: ptr[int64](900_000),
				MemoryEvents: &MemoryEvents{Low: 1, High: 2, Max: 3, OOM: 4, OOMKill: 5, OOMGroupKill: 6},
				Pressure: &Pressure{
					Some: PressureLine{Avg10: 1.5, Avg60: 0.25, Avg300: 0, TotalUS: 12345},
					Full: PressureLine{Avg10: 100, Avg60: 0, Avg300: 0, TotalUS: 0},
				}},
			{TimeMS: 100, Total: 0, Anon: ptr[int64](0)},
		},
		Events: []Event{
			{TimeMS: 0, Kind: "start"},
			{TimeMS: 150, Kind: "phase", Text: "running \"tests\" ☃"},
		},
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, tr := range []*Trace{fullTrace(), {Name: "one", Samples: []Sample{{}}}} {
		t.Run(tr.Name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Encode(&buf, tr); err != nil {
				t.Fatal(err)
			}
			got, err := Decode(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tr) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, tr)
			}
		})
	}
}

func TestEncodeGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := Encode(&buf, fullTrace()); err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, "testdata/golden/full.trace.json", buf.Bytes())
}

func TestEncodeRejectsInvalid(t *testing.T) {
	tr := fullTrace()
	tr.Samples[1].TimeMS = -5
	err := Encode(&bytes.Buffer{}, tr)
	if !errors.Is(err, ErrNegative) {
		t.Fatalf("Encode error = %v, want %v", err, ErrNegative)
	}
	checkMessage(t, err, "encode trace: sample 1: t_ms -5: negative value")
}

// nativeDoc builds a native trace with the given samples and extra
// top-level members.
func nativeDoc(samples string, extra ...string) string {
	head := `{"format": "memqos-trace/1", "name": "x", "source": "test", "interval_ms": 1000`
	for _, e := range extra {
		head += ", " + e
	}
	return head + `, "samples": [` + samples + "]}"
}

func TestDecodeOptionalFields(t *testing.T) {
	tr, err := Decode(strings.NewReader(`{"format": "memqos-trace/1", "name": "x", "samples": [{"t_ms": 5, "total": 1}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &Trace{Name: "x", Samples: []Sample{{TimeMS: 5, Total: 1}}}
	if !reflect.DeepEqual(tr, want) {
		t.Errorf("Decode = %+v, want %+v", tr, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	ok := `{"t_ms": 0, "total": 1}`
	tests := []struct {
		name  string
		doc   string
		want  error  // nil: only the message is checked
		msg   string // a message ending in "..." is a prefix
		item  string
		index int // -1: not a *FieldError
		field string
	}{
		{"not JSON", `nope`, nil, "decode trace: invalid character ...", "", -1, ""},
		{"empty input", ``, nil, "decode trace: unexpected end of JSON input", "", -1, ""},
		{"missing format", `{"name": "x", "samples": [` + ok + `]}`, nil, `trace has no format field (supported: "memqos-trace/1")`, "", -1, ""},
		{"newer version", `{"format": "memqos-trace/2", "samples": []}`, nil, `unsupported trace format "memqos-trace/2" (supported: "memqos-trace/1")`, "", -1, ""},
		{"other format", `{"format": "pprof"}`, nil, `unsupported trace format "pprof" (supported: "memqos-trace/1")`, "", -1, ""},
		{"format not a string", `{"format": 1}`, nil, "decode trace: json: cannot unmarshal number ...", "", -1, ""},
		{"unknown field", nativeDoc(ok, `"colour": 1`), nil, `decode trace: json: unknown field "colour"`, "", -1, ""},
		{"data after the trace", nativeDoc(ok) + " {}", nil, "decode trace: invalid character '{' after top-level value", "", -1, ""},
		{"missing name", `{"format": "memqos-trace/1", "samples": [` + ok + `]}`, ErrMissing, "name: missing", "", -1, ""},
		{"negative interval", nativeDoc(ok, `"interval_ms": -1`), ErrNegative, "interval_ms -1: negative value", "", -1, ""},
		{"no samples", nativeDoc(``), ErrNoSamples, "no samples", "", -1, ""},
		{"null samples", `{"format": "memqos-trace/1", "name": "x", "samples": null}`, ErrNoSamples, "no samples", "", -1, ""},
		{"sample not an object", nativeDoc(ok + `, 5`), nil, "sample 1: json: cannot unmarshal number ...", "sample", 1, ""},
		{"unknown sample field", nativeDoc(ok + `, {"t_ms": 1, "total": 1, "rss": 1}`), nil, `sample 1: json: unknown field "rss"`, "sample", 1, ""},
		{"unknown nested field", nativeDoc(`{"t_ms": 1, "total": 1, "pressure": {"some": {"avg5": 1}}}`), nil, `sample 0: json: unknown field "avg5"`, "sample", 0, ""},
		{"fractional time", nativeDoc(`{"t_ms": 1.5, "total": 1}`), nil, "sample 0: json: cannot unmarshal number 1.5 ...", "sample", 0, ""},
		{"missing t_ms", nativeDoc(ok + `, {"total": 1}`), ErrMissing, "sample 1: t_ms: missing", "sample", 1, "t_ms"},
		{"missing total", nativeDoc(`{"t_ms": 0}`), ErrMissing, "sample 0: total: missing", "sample", 0, "total"},
		{"null sample", nativeDoc(`null`), ErrMissing, "sample 0: t_ms: missing", "sample", 0, "t_ms"},
		{"negative time", nativeDoc(`{"t_ms": -1, "total": 1}`), ErrNegative, "sample 0: t_ms -1: negative value", "sample", 0, "t_ms"},
		{"time backwards", nativeDoc(`{"t_ms": 0, "total": 1}, {"t_ms": 20, "total": 1}, {"t_ms": 10, "total": 1}`), ErrTimeBackwards, "sample 2: t_ms 10: time goes backwards: previous is 20", "sample", 2, "t_ms"},
		{"negative total", nativeDoc(`{"t_ms": 0, "total": -1}`), ErrNegative, "sample 0: total -1: negative value", "sample", 0, "total"},
		{"negative anon", nativeDoc(`{"t_ms": 0, "total": 1, "anon": -2}`), ErrNegative, "sample 0: anon -2: negative value", "sample", 0, "anon"},
		{"negative file", nativeDoc(`{"t_ms": 0, "total": 1, "file": -3}`), ErrNegative, "sample 0: file -3: negative value", "sample", 0, "file"},
		{"negative memory event", nativeDoc(`{"t_ms": 0, "total": 1, "memory_events": {"oom_kill": -1}}`), ErrNegative, "sample 0: memory_events.oom_kill -1: negative value", "sample", 0, "memory_events.oom_kill"},
		{"negative PSI average", nativeDoc(`{"t_ms": 0, "total": 1, "pressure": {"some": {"avg60": -0.5}}}`), ErrOutOfRange, "sample 0: pressure.some.avg60 -0.5: value out of range: not within [0, 100]", "sample", 0, "pressure.some.avg60"},
		{"PSI average above 100", nativeDoc(`{"t_ms": 0, "total": 1, "pressure": {"full": {"avg300": 100.5}}}`), ErrOutOfRange, "sample 0: pressure.full.avg300 100.5: value out of range: not within [0, 100]", "sample", 0, "pressure.full.avg300"},
		{"negative PSI total", nativeDoc(`{"t_ms": 0, "total": 1, "pressure": {"full": {"total_us": -1}}}`), ErrNegative, "sample 0: pressure.full.total_us -1: negative value", "sample", 0, "pressure.full.total_us"},
		{"event not an object", nativeDoc(ok, `"events": [[]]`), nil, "event 0: json: cannot unmarshal array ...", "event", 0, ""},
		{"event missing time", nativeDoc(ok, `"events": [{"kind": "a"}]`), ErrMissing, "event 0: t_ms: missing", "event", 0, "t_ms"},
		{"event missing kind", nativeDoc(ok, `"events": [{"t_ms": 1}]`), ErrMissing, "event 0: kind: missing", "event", 0, "kind"},
		{"event empty kind", nativeDoc(ok, `"events": [{"t_ms": 1, "kind": ""}]`), ErrMissing, "event 0: kind: missing", "event", 0, "kind"},
		{"event backwards", nativeDoc(ok, `"events": [{"t_ms": 5, "kind": "a"}, {"t_ms": 4, "kind": "b"}]`), ErrTimeBackwards, "event 1: t_ms 4: time goes backwards: previous is 5", "event", 1, "t_ms"},
		{"event negative time", nativeDoc(ok, `"events": [{"t_ms": -4, "kind": "b"}]`), ErrNegative, "event 0: t_ms -4: negative value", "event", 0, "t_ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tt.doc))
			if err == nil {
				t.Fatal("no error")
			}
			checkMessage(t, err, tt.msg)
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v is not %v", err, tt.want)
			}
			checkFieldError(t, err, tt.item, tt.index, tt.field)
		})
	}
}

func TestDecodeUnsupportedFormatError(t *testing.T) {
	_, err := Decode(strings.NewReader(`{"format": "memqos-trace/2"}`))
	var ue *UnsupportedFormatError
	if !errors.As(err, &ue) || ue.Found != "memqos-trace/2" {
		t.Fatalf("error = %v, want *UnsupportedFormatError for memqos-trace/2", err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestDecodeReadError(t *testing.T) {
	_, err := Decode(failingReader{})
	checkMessage(t, err, "read trace: disk on fire")
}

func TestEncodeNil(t *testing.T) {
	if err := Encode(&bytes.Buffer{}, nil); !errors.Is(err, ErrNoSamples) {
		t.Errorf("Encode(nil) error = %v, want ErrNoSamples", err)
	}
}
