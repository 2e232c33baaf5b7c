package testutil

import (
	"io"
	"strings"
	"testing"
)

// LogWriter returns a writer that logs each write with t.Logf, for loggers
// and child processes whose output belongs in the test's log.
func LogWriter(t testing.TB) io.Writer { return logWriter{t} }

type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
