package trace

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Encode validates t and writes it to w in the native format, version
// FormatVersion: indented JSON with one sample or event per line.
func Encode(w io.Writer, t *Trace) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("encode trace: %w", err)
	}
	bw := bufio.NewWriter(w)
	writeHeader(bw, t)
	bw.WriteString(`  "samples": [`)
	writeList(bw, t.Samples)
	bw.WriteString("]")
	if len(t.Events) > 0 {
		bw.WriteString(",\n  \"events\": [")
		writeList(bw, t.Events)
		bw.WriteString("]")
	}
	bw.WriteString("\n}\n")
	return bw.Flush()
}

func writeHeader(w *bufio.Writer, t *Trace) {
	fmt.Fprintf(w, "{\n  \"format\": %s,\n  \"name\": %s,\n  \"source\": %s,\n  \"interval_ms\": %d,\n",
		jsonText(FormatVersion), jsonText(t.Name), jsonText(t.Source), t.IntervalMS)
}

// writeList writes one JSON value per line. Values are plain data that
// Validate has checked, so marshaling cannot fail.
func writeList[T any](w *bufio.Writer, items []T) {
	for i, item := range items {
		if i > 0 {
			w.WriteString(",")
		}
		w.WriteString("\n    ")
		w.WriteString(jsonText(item))
	}
	w.WriteString("\n  ")
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%q", err.Error())
	}
	return string(b)
}

// wireTrace is the top level of a native trace as read; samples and events
// are decoded one by one so that errors name their index.
type wireTrace struct {
	Format     string            `json:"format"`
	Name       string            `json:"name"`
	Source     string            `json:"source"`
	IntervalMS int64             `json:"interval_ms"`
	Samples    []json.RawMessage `json:"samples"`
	Events     []json.RawMessage `json:"events"`
}

// wireSample and wireEvent use pointers for required fields, to tell a
// missing field from a zero.
type wireSample struct {
	TimeMS       *int64        `json:"t_ms"`
	Total        *int64        `json:"total"`
	Anon         *int64        `json:"anon"`
	File         *int64        `json:"file"`
	MemoryEvents *MemoryEvents `json:"memory_events"`
	Pressure     *Pressure     `json:"pressure"`
}

type wireEvent struct {
	TimeMS *int64  `json:"t_ms"`
	Kind   *string `json:"kind"`
	Text   string  `json:"text"`
}

// Decode reads one native trace from r and validates it. Unknown fields
// and data after the trace are errors.
func Decode(r io.Reader) (*Trace, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read trace: %w", err)
	}
	if err := checkFormat(data); err != nil {
		return nil, err
	}
	var w wireTrace
	if err := decodeStrict(data, &w); err != nil {
		return nil, fmt.Errorf("decode trace: %w", err)
	}
	t, err := w.trace()
	if err != nil {
		return nil, err
	}
	return t, t.Validate()
}

// checkFormat reads only the format field, so that a trace of another
// version is reported as such rather than by its unknown fields.
func checkFormat(data []byte) error {
	var probe struct {
		Format *string `json:"format"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return fmt.Errorf("decode trace: %w", err)
	}
	if probe.Format == nil || *probe.Format != FormatVersion {
		return &UnsupportedFormatError{Found: deref(probe.Format)}
	}
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// decodeStrict decodes data, which holds exactly one JSON value (checked
// by checkFormat, or a json.RawMessage), rejecting unknown fields.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func (w *wireTrace) trace() (*Trace, error) {
	t := &Trace{Name: w.Name, Source: w.Source, IntervalMS: w.IntervalMS}
	for i, raw := range w.Samples {
		s, err := decodeSample(raw)
		if err != nil {
			return nil, withIndex("sample", i, err)
		}
		t.Samples = append(t.Samples, s)
	}
	for i, raw := range w.Events {
		e, err := decodeEvent(raw)
		if err != nil {
			return nil, withIndex("event", i, err)
		}
		t.Events = append(t.Events, e)
	}
	return t, nil
}

// withIndex turns err into a *FieldError for item i, keeping the field
// when err already is one.
func withIndex(item string, i int, err error) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		fe.Item, fe.Index = item, i
		return fe
	}
	return &FieldError{Item: item, Index: i, Err: err}
}

func decodeSample(raw json.RawMessage) (Sample, error) {
	w, err := decodeItem(raw, func(w *wireSample) []required {
		return []required{{"t_ms", w.TimeMS != nil}, {"total", w.Total != nil}}
	})
	if err != nil {
		return Sample{}, err
	}
	return Sample{TimeMS: *w.TimeMS, Total: *w.Total, Anon: w.Anon, File: w.File,
		MemoryEvents: w.MemoryEvents, Pressure: w.Pressure}, nil
}

func decodeEvent(raw json.RawMessage) (Event, error) {
	w, err := decodeItem(raw, func(w *wireEvent) []required {
		return []required{{"t_ms", w.TimeMS != nil}, {"kind", w.Kind != nil}}
	})
	if err != nil {
		return Event{}, err
	}
	return Event{TimeMS: *w.TimeMS, Kind: *w.Kind, Text: w.Text}, nil
}

// required names a required field of an item, and says whether the input
// has it.
type required struct {
	name    string
	present bool
}

// decodeItem decodes raw strictly into a W, then fails with ErrMissing, in
// a *FieldError, for the first of fields(w) that is not present.
func decodeItem[W any](raw json.RawMessage, fields func(*W) []required) (W, error) {
	var w W
	if err := decodeStrict(raw, &w); err != nil {
		return w, err
	}
	for _, f := range fields(&w) {
		if !f.present {
			return w, &FieldError{Field: f.name, Err: ErrMissing}
		}
	}
	return w, nil
}
