package replay

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestTargetRoundTrip(t *testing.T) {
	for _, v := range []int64{0, 1, 420_900_000, 1<<63 - 1} {
		var buf bytes.Buffer
		if err := WriteTarget(&buf, v); err != nil {
			t.Fatal(err)
		}
		got, err := ReadTarget(bufio.NewReader(&buf))
		if err != nil || got != v {
			t.Errorf("round trip of %d = %d, %v", v, got, err)
		}
	}
}

func TestReadTargetErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		{"clean end", "", io.EOF},
		{"no newline", "123", io.ErrUnexpectedEOF},
		{"negative", "-5\n", ErrProtocol},
		{"not a number", "12MB\n", ErrProtocol},
		{"space", " 12\n", ErrProtocol},
		{"too long", strings.Repeat("1", 5000) + "\n", ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadTarget(bufio.NewReader(strings.NewReader(tt.in)))
			if !errors.Is(err, tt.want) {
				t.Errorf("ReadTarget(%q) = %v; want %v", tt.in, err, tt.want)
			}
		})
	}
}

func TestReplyEncoding(t *testing.T) {
	tests := []struct {
		name string
		rp   Reply
		line string
	}{
		{"ready", Reply{Kind: 'R', PageSize: 4096}, "R 4096\n"},
		{"answer", Reply{Kind: 'A', Footprint: 420_900_864, Latency: 1500 * time.Microsecond}, "A 420900864 1500000\n"},
		{"error", Reply{Kind: 'E', Message: "mmap chunk 3: cannot allocate memory"}, "E mmap chunk 3: cannot allocate memory\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteReply(&buf, tt.rp); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tt.line {
				t.Fatalf("WriteReply = %q; want %q", buf.String(), tt.line)
			}
			got, err := ReadReply(bufio.NewReader(&buf))
			if err != nil || got != tt.rp {
				t.Errorf("ReadReply = %+v, %v; want %+v", got, err, tt.rp)
			}
		})
	}
}

func TestErrorReplyIsOneLine(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteReply(&buf, Reply{Kind: 'E', Message: "a\nb"}); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "E a b\n" {
		t.Errorf("WriteReply = %q; want one line", buf.String())
	}
}

func TestReadReplyErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		{"clean end", "", io.EOF},
		{"cut off", "A 12 3", io.ErrUnexpectedEOF},
		{"unknown kind", "X 1\n", ErrProtocol},
		{"answer short", "A 12\n", ErrProtocol},
		{"answer long", "A 1 2 3\n", ErrProtocol},
		{"ready bad", "R four\n", ErrProtocol},
		{"negative", "A -1 2\n", ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadReply(bufio.NewReader(strings.NewReader(tt.in)))
			if !errors.Is(err, tt.want) {
				t.Errorf("ReadReply(%q) = %v; want %v", tt.in, err, tt.want)
			}
		})
	}
}

func TestWriteReplyUnknownKind(t *testing.T) {
	if err := WriteReply(io.Discard, Reply{Kind: 'Q'}); !errors.Is(err, ErrProtocol) {
		t.Errorf("WriteReply of kind Q = %v; want ErrProtocol", err)
	}
}
