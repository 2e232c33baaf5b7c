package replay

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ErrProtocol means a line of the controller–worker protocol is malformed.
var ErrProtocol = errors.New("replay protocol")

// Reply is one worker line: ready, an answer to a target, or an error.
type Reply struct {
	// Kind is 'R' (ready), 'A' (answer) or 'E' (error).
	Kind byte
	// PageSize is the worker's page size (ready).
	PageSize int64
	// Footprint is the bytes the worker holds after the adjustment, and
	// Latency how long the adjustment took (answer).
	Footprint int64
	Latency   time.Duration
	// Message is the worker's error (error).
	Message string
}

// WriteTarget writes one target line.
func WriteTarget(w io.Writer, target int64) error {
	_, err := fmt.Fprintf(w, "%d\n", target)
	return err
}

// ReadTarget reads one target line. It returns io.EOF at a clean end of
// input.
func ReadTarget(r *bufio.Reader) (int64, error) {
	line, err := readLine(r)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(line, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%w: target %q is not a byte count", ErrProtocol, line)
	}
	return v, nil
}

// WriteReply writes one worker line.
func WriteReply(w io.Writer, rp Reply) error {
	var err error
	switch rp.Kind {
	case 'R':
		_, err = fmt.Fprintf(w, "R %d\n", rp.PageSize)
	case 'A':
		_, err = fmt.Fprintf(w, "A %d %d\n", rp.Footprint, rp.Latency.Nanoseconds())
	case 'E':
		_, err = fmt.Fprintf(w, "E %s\n", strings.ReplaceAll(rp.Message, "\n", " "))
	default:
		err = fmt.Errorf("%w: unknown reply kind %q", ErrProtocol, rp.Kind)
	}
	return err
}

// ReadReply reads one worker line. It returns io.EOF at a clean end of
// input.
func ReadReply(r *bufio.Reader) (Reply, error) {
	line, err := readLine(r)
	if err != nil {
		return Reply{}, err
	}
	kind, rest, _ := strings.Cut(line, " ")
	switch kind {
	case "R":
		n, err := parseCounts(rest, 1)
		return Reply{Kind: 'R', PageSize: n[0]}, lineError(line, err)
	case "A":
		n, err := parseCounts(rest, 2)
		return Reply{Kind: 'A', Footprint: n[0], Latency: time.Duration(n[1])}, lineError(line, err)
	case "E":
		return Reply{Kind: 'E', Message: rest}, nil
	}
	return Reply{}, fmt.Errorf("%w: unknown line %q", ErrProtocol, line)
}

func lineError(line string, err error) error {
	if err != nil {
		return fmt.Errorf("%w: line %q: %w", ErrProtocol, line, err)
	}
	return nil
}

// parseCounts parses exactly n space-separated non-negative integers.
func parseCounts(s string, n int) ([]int64, error) {
	f := strings.Split(s, " ")
	out := make([]int64, n)
	if len(f) != n {
		return out, fmt.Errorf("want %d numbers", n)
	}
	for i, x := range f {
		v, err := strconv.ParseInt(x, 10, 64)
		if err != nil || v < 0 {
			return out, fmt.Errorf("bad number %q", x)
		}
		out[i] = v
	}
	return out, nil
}

// readLine reads one line without its "\n". A last line without "\n" is
// an error, since the peer died while writing it; so is a line longer than
// r's buffer.
func readLine(r *bufio.Reader) (string, error) {
	b, err := r.ReadSlice('\n')
	switch {
	case err == nil:
		return string(b[:len(b)-1]), nil
	case errors.Is(err, bufio.ErrBufferFull):
		return "", fmt.Errorf("%w: line longer than %d bytes", ErrProtocol, r.Size())
	case errors.Is(err, io.EOF) && len(b) > 0:
		return "", io.ErrUnexpectedEOF
	}
	return "", err
}
