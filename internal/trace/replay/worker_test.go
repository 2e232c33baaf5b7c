package replay

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/memqos/memqos/internal/thp"
)

func TestParseWorkerArgs(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		noTHP bool
		ok    bool
	}{
		{"default", WorkerArgs(false), false, true},
		{"no thp", WorkerArgs(true), true, true},
		{"unknown", []string{"--fast"}, false, false},
		{"too many", []string{"no-thp", "no-thp"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noTHP, err := parseWorkerArgs(tt.args)
			if noTHP != tt.noTHP || (err == nil) != tt.ok {
				t.Errorf("parseWorkerArgs(%q) = %v, %v", tt.args, noTHP, err)
			}
		})
	}
}

// TestServe runs the worker's protocol in this process: it must answer
// each target with the footprint rounded up to pages, then end cleanly.
func TestServe(t *testing.T) {
	in := "1000000\n8388609\n0\n4096\n"
	var out bytes.Buffer
	if err := Serve(strings.NewReader(in), &out, false); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(&out)
	ready, err := ReadReply(r)
	if err != nil || ready.Kind != 'R' || ready.PageSize <= 0 {
		t.Fatalf("first line = %+v, %v; want ready", ready, err)
	}
	ps := ready.PageSize
	for _, target := range []int64{1000000, 8388609, 0, 4096} {
		rp, err := ReadReply(r)
		if err != nil || rp.Kind != 'A' || rp.Footprint != Pages(target, ps)*ps || rp.Latency < 0 {
			t.Errorf("answer to %d = %+v, %v", target, rp, err)
		}
	}
	if _, err := ReadReply(r); err == nil {
		t.Error("more output after the last answer")
	}
}

func TestServeBadTarget(t *testing.T) {
	var out bytes.Buffer
	err := Serve(strings.NewReader("100\nlots\n"), &out, false)
	if !errors.Is(err, ErrProtocol) {
		t.Fatalf("Serve = %v; want ErrProtocol", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[2], "E replay protocol: target \"lots\"") {
		t.Errorf("output = %q; want ready, an answer and an E line", lines)
	}
}

func TestServeNoTHP(t *testing.T) {
	restoreTHP(t) // Serve disables THP for the test binary
	var out bytes.Buffer
	if err := Serve(strings.NewReader(""), &out, true); err != nil {
		t.Fatal(err)
	}
	if off, err := thp.Disabled(); err != nil || !off {
		t.Errorf("after Serve with noTHP, THP disabled = %v, %v", off, err)
	}
}
