package trace

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// podmanDoc builds a podman stats document from raw sample objects.
func podmanDoc(samples ...string) string {
	return `{"samples": [` + strings.Join(samples, ",") + `], "summary": {}}`
}

// ps is a well-formed podman sample.
func ps(epoch float64, usage string) string {
	return fmt.Sprintf(`{"timestamp": "x", "epoch": %v, "mem_usage": %q, "cpu_percent": "1%%"}`, epoch, usage)
}

func importString(doc string) (*Trace, error) {
	return ImportPodman(strings.NewReader(doc), "dir/task-1.json")
}

func TestImportPodman(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []Sample
		gap  int64
	}{
		{"offsets from first epoch, median gap",
			podmanDoc(ps(100.5, "1MB / 2GB"), ps(101.5, "185.5MB / 2GB"), ps(103.0004, "2kB / 2GB"), ps(104.0, "3B / 2GB")),
			[]Sample{{TimeMS: 0, Total: 1e6}, {TimeMS: 1000, Total: 185_500_000}, {TimeMS: 2500, Total: 2000}, {TimeMS: 3500, Total: 3}}, 1000},
		{"even number of gaps averages the middle two",
			podmanDoc(ps(0, "1MB / 2GB"), ps(1, "1MB / 2GB"), ps(4, "1MB / 2GB")),
			[]Sample{{TimeMS: 0, Total: 1e6}, {TimeMS: 1000, Total: 1e6}, {TimeMS: 4000, Total: 1e6}}, 2000},
		{"equal epochs are allowed",
			podmanDoc(ps(5, "1MB / 2GB"), ps(5, "2MB / 2GB")),
			[]Sample{{TimeMS: 0, Total: 1e6}, {TimeMS: 0, Total: 2e6}}, 0},
		{"single sample has unknown interval",
			podmanDoc(ps(5, "1MB / 2GB")),
			[]Sample{{TimeMS: 0, Total: 1e6}}, 0},
		{"trailing 0B / 0B dropped",
			podmanDoc(ps(0, "1MB / 2GB"), ps(1, "2MB / 2GB"), ps(2, "0B / 0B")),
			[]Sample{{TimeMS: 0, Total: 1e6}, {TimeMS: 1000, Total: 2e6}}, 1000},
		{"all trailing zero-limit samples dropped",
			podmanDoc(ps(0, "1MB / 2GB"), ps(1, "0B / 0B"), ps(2, "5MB / 0B"), ps(3, "0B / 0B")),
			[]Sample{{TimeMS: 0, Total: 1e6}}, 0},
		{"zero-limit sample before a live one is kept",
			podmanDoc(ps(0, "1MB / 2GB"), ps(1, "0B / 0B"), ps(2, "3MB / 2GB")),
			[]Sample{{TimeMS: 0, Total: 1e6}, {TimeMS: 1000, Total: 0}, {TimeMS: 2000, Total: 3e6}}, 1000},
		{"zero usage with a limit is kept",
			podmanDoc(ps(0, "1MB / 2GB"), ps(1, "0B / 2GB")),
			[]Sample{{TimeMS: 0, Total: 1e6}, {TimeMS: 1000, Total: 0}}, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := importString(tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tr.Samples, tt.want) {
				t.Errorf("samples = %+v, want %+v", tr.Samples, tt.want)
			}
			if tr.IntervalMS != tt.gap {
				t.Errorf("IntervalMS = %d, want %d", tr.IntervalMS, tt.gap)
			}
			if tr.Name != "task-1" || tr.Source != "podman-stats:task-1.json" {
				t.Errorf("name, source = %q, %q", tr.Name, tr.Source)
			}
		})
	}
}

func TestImportPodmanName(t *testing.T) {
	for _, file := range []string{"", ".", ".json", "/"} {
		tr, err := ImportPodman(strings.NewReader(podmanDoc(ps(0, "1MB / 1GB"))), file)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Name != "unnamed" || tr.Source != "podman-stats:unnamed" {
			t.Errorf("file %q: name, source = %q, %q", file, tr.Name, tr.Source)
		}
	}
}

func TestImportPodmanErrors(t *testing.T) {
	tests := []struct {
		name  string
		doc   string
		want  error  // nil: only the message is checked
		msg   string // a message ending in "..." is a prefix
		index int    // -1: not a *FieldError
		field string
	}{
		{"bad JSON", `{"samples": [`, nil, "decode podman stats: unexpected end of JSON input", -1, ""},
		{"trailing data", podmanDoc(ps(0, "1MB / 1GB")) + "x", nil, "decode podman stats: invalid character 'x' ...", -1, ""},
		{"not an object", `[1]`, nil, "decode podman stats: json: cannot unmarshal array ...", -1, ""},
		{"no samples field", `{}`, ErrNoSamples, "podman stats: no samples", -1, ""},
		{"empty samples", `{"samples": []}`, ErrNoSamples, "podman stats: no samples", -1, ""},
		{"samples not a list", `{"samples": 3}`, nil, "decode podman stats: json: cannot unmarshal number ...", -1, ""},
		{"only exited samples", podmanDoc(ps(0, "0B / 0B"), ps(1, "0B / 0B")), ErrNoSamples, "podman stats: all 2 samples have a zero limit: no samples", -1, ""},
		{"sample not an object", podmanDoc(ps(0, "1MB / 1GB"), `"x"`), nil, "sample 1: json: cannot unmarshal string ...", 1, ""},
		{"sample null", podmanDoc(`null`), ErrMissing, "sample 0: epoch: missing", 0, "epoch"},
		{"missing epoch", podmanDoc(ps(0, "1MB / 1GB"), `{"mem_usage": "1MB / 1GB"}`), ErrMissing, "sample 1: epoch: missing", 1, "epoch"},
		{"null epoch", podmanDoc(`{"epoch": null, "mem_usage": "1MB / 1GB"}`), ErrMissing, "sample 0: epoch: missing", 0, "epoch"},
		{"string epoch", podmanDoc(`{"epoch": "1", "mem_usage": "1MB / 1GB"}`), nil, "sample 0: epoch: json: cannot unmarshal string ...", 0, "epoch"},
		{"negative epoch", podmanDoc(ps(-1, "1MB / 1GB")), ErrNegative, "sample 0: epoch -1: negative value", 0, "epoch"},
		{"epoch backwards", podmanDoc(ps(10, "1MB / 1GB"), ps(11, "1MB / 1GB"), ps(10.5, "1MB / 1GB")), ErrTimeBackwards, "sample 2: epoch 10.5: time goes backwards: previous is 11", 2, "epoch"},
		{"epoch too far", podmanDoc(ps(0, "1MB / 1GB"), ps(2e12, "1MB / 1GB")), ErrOutOfRange, "sample 1: epoch 2000000000000: value out of range: more than 1e+12 s after the first sample", 1, "epoch"},
		{"missing mem_usage", podmanDoc(`{"epoch": 1}`), ErrMissing, "sample 0: mem_usage: missing", 0, "mem_usage"},
		{"numeric mem_usage", podmanDoc(`{"epoch": 1, "mem_usage": 5}`), nil, "sample 0: mem_usage: json: cannot unmarshal number ...", 0, "mem_usage"},
		{"unknown unit", podmanDoc(ps(0, "1MB / 1GB"), ps(1, "12.3XB / 1GB")), ErrUnknownUnit, `sample 1: mem_usage "12.3XB / 1GB": usage: unknown unit "XB"`, 1, "mem_usage"},
		{"no slash", podmanDoc(ps(0, "12MB")), ErrBadMemUsage, `sample 0: mem_usage "12MB": malformed mem_usage: no "/" between usage and limit`, 0, "mem_usage"},
		{"negative usage", podmanDoc(ps(0, "-12MB / 1GB")), ErrNegative, `sample 0: mem_usage "-12MB / 1GB": usage: negative value`, 0, "mem_usage"},
		{"bad limit", podmanDoc(ps(0, "12MB / GB")), ErrBadMemUsage, `sample 0: mem_usage "12MB / GB": limit: malformed mem_usage: no number`, 0, "mem_usage"},
		{"error in a trailing exited sample", podmanDoc(ps(0, "1MB / 1GB"), ps(1, "0B / 0XB")), ErrUnknownUnit, `sample 1: mem_usage "0B / 0XB": limit: unknown unit "XB"`, 1, "mem_usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := importString(tt.doc)
			if err == nil {
				t.Fatal("no error")
			}
			checkMessage(t, err, tt.msg)
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v is not %v", err, tt.want)
			}
			checkFieldError(t, err, "sample", tt.index, tt.field)
		})
	}
}

// checkFieldError checks that err is a *FieldError for item index and
// field, or is none when index is -1.
func checkFieldError(t *testing.T, err error, item string, index int, field string) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) {
		if index >= 0 {
			t.Errorf("%v is not a *FieldError", err)
		}
		return
	}
	if index < 0 || fe.Item != item || fe.Index != index || fe.Field != field {
		t.Errorf("FieldError = {%q %d %q}, want {%q %d %q}", fe.Item, fe.Index, fe.Field, item, index, field)
	}
}

// checkMessage checks err's message against want, which is a prefix when
// it ends in "...": messages of encoding/json are checked only that far.
func checkMessage(t *testing.T, err error, want string) {
	t.Helper()
	if prefix, ok := strings.CutSuffix(want, "..."); ok {
		if !strings.HasPrefix(err.Error(), prefix) {
			t.Errorf("message = %q, want prefix %q", err, prefix)
		}
		return
	}
	if err.Error() != want {
		t.Errorf("message = %q, want %q", err, want)
	}
}
