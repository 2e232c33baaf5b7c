package trace

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/memqos/memqos/internal/stats"
)

// maxSpanSeconds bounds the time from the first to any later sample (about
// 31 700 years), so that offsets fit in int64 milliseconds.
const maxSpanSeconds = 1e12

// podmanSample is one parsed podman stats sample.
type podmanSample struct {
	epoch        float64
	usage, limit int64
}

// ImportPodman reads a podman stats resources.json ({"samples": [{"epoch":
// …, "mem_usage": "<usage> / <limit>", …}, …]}) into a trace. Only epoch
// and mem_usage are read; other fields are ignored.
//
// Times are offsets from the first sample's epoch, rounded to whole
// milliseconds; epochs must not decrease. Total is the usage; podman gives
// no anon/file split. Trailing samples whose limit is zero (podman prints
// "0B / 0B" once the container has exited) are dropped; a zero-limit
// sample followed by a non-zero one is kept as it is. IntervalMS is the
// median gap between the kept samples (0 for a single sample).
//
// file names the input: the trace's name is its base name without
// ".json", and its source is "podman-stats:" and the base name.
func ImportPodman(r io.Reader, file string) (*Trace, error) {
	raw, err := readPodmanSamples(r)
	if err != nil {
		return nil, err
	}
	samples, err := parsePodmanSamples(raw)
	if err != nil {
		return nil, err
	}
	kept := dropExited(samples)
	if len(kept) == 0 {
		return nil, fmt.Errorf("podman stats: all %d samples have a zero limit: %w", len(samples), ErrNoSamples)
	}
	return podmanTrace(kept, file), nil
}

// podmanFile is the top level of a podman stats resources.json.
type podmanFile struct {
	Samples []json.RawMessage `json:"samples"`
}

func readPodmanSamples(r io.Reader) ([]json.RawMessage, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read podman stats: %w", err)
	}
	var doc podmanFile
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("decode podman stats: %w", err)
	}
	if len(doc.Samples) == 0 {
		return nil, fmt.Errorf("podman stats: %w", ErrNoSamples)
	}
	return doc.Samples, nil
}

func parsePodmanSamples(raw []json.RawMessage) ([]podmanSample, error) {
	out := make([]podmanSample, 0, len(raw))
	for i, r := range raw {
		s, err := parsePodmanSample(r)
		if err == nil && i > 0 {
			err = checkEpoch(s.epoch, out[0].epoch, out[i-1].epoch)
		}
		if err != nil {
			return nil, withIndex("sample", i, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func parsePodmanSample(raw json.RawMessage) (podmanSample, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return podmanSample{}, err
	}
	epoch, err := field[float64](fields, "epoch")
	if err != nil {
		return podmanSample{}, err
	}
	if epoch < 0 {
		return podmanSample{}, &FieldError{Field: "epoch", Value: ftoa(epoch), Err: ErrNegative}
	}
	usage, err := field[string](fields, "mem_usage")
	if err != nil {
		return podmanSample{}, err
	}
	s := podmanSample{epoch: epoch}
	if s.usage, s.limit, err = parseMemUsage(usage); err != nil {
		return podmanSample{}, &FieldError{Field: "mem_usage", Value: strconv.Quote(usage), Err: err}
	}
	return s, nil
}

// field decodes the required field name of a JSON object.
func field[T any](fields map[string]json.RawMessage, name string) (T, error) {
	var v *T
	if err := json.Unmarshal(fields[name], &v); err != nil || v == nil {
		if err == nil || fields[name] == nil {
			err = ErrMissing
		}
		return *new(T), &FieldError{Field: name, Err: err}
	}
	return *v, nil
}

func checkEpoch(epoch, first, prev float64) error {
	if epoch < prev {
		return &FieldError{Field: "epoch", Value: ftoa(epoch),
			Err: fmt.Errorf("%w: previous is %s", ErrTimeBackwards, ftoa(prev))}
	}
	if epoch-first > maxSpanSeconds {
		return &FieldError{Field: "epoch", Value: ftoa(epoch),
			Err: fmt.Errorf("%w: more than %g s after the first sample", ErrOutOfRange, float64(maxSpanSeconds))}
	}
	return nil
}

// parseMemUsage parses "<usage> / <limit>", such as "185.5MB / 134.5GB".
func parseMemUsage(s string) (usage, limit int64, err error) {
	u, l, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, fmt.Errorf(`%w: no "/" between usage and limit`, ErrBadMemUsage)
	}
	if usage, err = parseSize(strings.TrimSpace(u)); err != nil {
		return 0, 0, fmt.Errorf("usage: %w", err)
	}
	if limit, err = parseSize(strings.TrimSpace(l)); err != nil {
		return 0, 0, fmt.Errorf("limit: %w", err)
	}
	return usage, limit, nil
}

// dropExited drops the trailing samples with a zero limit.
func dropExited(samples []podmanSample) []podmanSample {
	n := len(samples)
	for n > 0 && samples[n-1].limit == 0 {
		n--
	}
	return samples[:n]
}

func podmanTrace(samples []podmanSample, file string) *Trace {
	base := filepath.Base(file)
	name := strings.TrimSuffix(base, ".json")
	if name == "" || name == "." || name == string(filepath.Separator) {
		name, base = "unnamed", "unnamed"
	}
	t := &Trace{Name: name, Source: "podman-stats:" + base}
	for _, s := range samples {
		off := math.Round((s.epoch - samples[0].epoch) * 1000)
		t.Samples = append(t.Samples, Sample{TimeMS: int64(off), Total: s.usage})
	}
	t.IntervalMS = medianGap(t.Samples)
	return t
}

// medianGap is the median time between consecutive samples, rounded to
// whole milliseconds; 0 for fewer than two samples.
func medianGap(samples []Sample) int64 {
	gaps := make([]float64, 0, len(samples))
	for i := 1; i < len(samples); i++ {
		gaps = append(gaps, float64(samples[i].TimeMS-samples[i-1].TimeMS))
	}
	m, err := stats.Percentile(gaps, 50)
	if err != nil {
		return 0
	}
	return int64(math.Round(m))
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
