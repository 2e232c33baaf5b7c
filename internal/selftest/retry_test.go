package selftest

import (
	"fmt"
	"log/slog"
	"testing"
)

func TestRetryReportsEveryAttempt(t *testing.T) {
	for _, tc := range []struct {
		name       string
		attempts   int
		passOn     int // attempt that passes; 0 never
		wantStatus Status
		wantRuns   int
	}{
		{"passes at once", 2, 1, Pass, 1},
		{"passes on the second", 2, 2, Pass, 2},
		{"never passes", 2, 0, Fail, 2},
		{"one attempt", 1, 2, Fail, 1},
		{"default attempts", 0, 0, Fail, DefaultAttempts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runs := 0
			r := (&Options{Attempts: tc.attempts, Log: discard()}).retry(func() Result {
				runs++
				if runs == tc.passOn {
					return Result{Name: "x", Status: Pass}
				}
				return Result{Name: "x", Status: Fail, Reason: fmt.Sprintf("run %d", runs)}
			})
			if r.Status != tc.wantStatus || runs != tc.wantRuns || r.Attempts != runs {
				t.Fatalf("status %s after %d runs (Attempts %d); want %s after %d", r.Status, runs, r.Attempts, tc.wantStatus, tc.wantRuns)
			}
			if len(r.EarlierFailures) != runs-1 {
				t.Fatalf("earlier failures %q after %d runs", r.EarlierFailures, runs)
			}
		})
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
