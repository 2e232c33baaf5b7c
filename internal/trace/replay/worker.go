package replay

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/memqos/memqos/internal/thp"
)

// argNoTHP is the worker argument that disables transparent huge pages.
const argNoTHP = "no-thp"

// WorkerArgs returns the worker's arguments, for Options.Command.
func WorkerArgs(noTHP bool) []string {
	if noTHP {
		return []string{argNoTHP}
	}
	return []string{}
}

// WorkerMain runs the worker on stdin and stdout with WorkerArgs and
// returns its exit status: 0 after a clean end of input, 1 after an error
// (reported on stdout as an "E" line and on stderr), 2 for bad arguments.
func WorkerMain(args []string) int {
	noTHP, err := parseWorkerArgs(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "replay worker:", err)
		return 2
	}
	if err := Serve(os.Stdin, os.Stdout, noTHP); err != nil {
		fmt.Fprintln(os.Stderr, "replay worker:", err)
		return 1
	}
	return 0
}

func parseWorkerArgs(args []string) (noTHP bool, err error) {
	switch {
	case len(args) == 0:
		return false, nil
	case len(args) == 1 && args[0] == argNoTHP:
		return true, nil
	}
	return false, fmt.Errorf("bad arguments %q; want none or %q", args, argNoTHP)
}

// Serve is the worker's side of the protocol: it disables THP if noTHP,
// says it is ready, then adjusts its footprint to each target read from r
// and answers on w, until r ends. It frees its memory before returning.
// An error is also reported to the controller as an "E" line.
func Serve(r io.Reader, w io.Writer, noTHP bool) error {
	bw := bufio.NewWriter(w)
	err := serve(bufio.NewReader(r), bw, noTHP)
	if err != nil {
		WriteReply(bw, Reply{Kind: 'E', Message: err.Error()})
	}
	return errors.Join(err, bw.Flush())
}

func serve(r *bufio.Reader, w *bufio.Writer, noTHP bool) error {
	if noTHP {
		if err := thp.DisableForProcess(); err != nil {
			return err
		}
	}
	fp := NewFootprint()
	defer fp.Close()
	if err := reply(w, Reply{Kind: 'R', PageSize: fp.PageSize()}); err != nil {
		return err
	}
	for {
		target, err := ReadTarget(r)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := adjust(w, fp, target); err != nil {
			return err
		}
	}
}

// adjust resizes fp to target and answers with the time it took.
func adjust(w *bufio.Writer, fp *Footprint, target int64) error {
	start := time.Now()
	if err := fp.Resize(target); err != nil {
		return err
	}
	return reply(w, Reply{Kind: 'A', Footprint: fp.Bytes(), Latency: time.Since(start)})
}

func reply(w *bufio.Writer, rp Reply) error {
	if err := WriteReply(w, rp); err != nil {
		return fmt.Errorf("write reply: %w", err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write reply: %w", err)
	}
	return nil
}
