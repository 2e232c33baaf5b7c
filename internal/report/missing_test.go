package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/memqos/memqos/internal/bench"
	"github.com/memqos/memqos/internal/trace/replay"
)

// TestMissingData: no baselines, a failed arm without results, one run.
// Nothing may crash; missing numbers are n/a and the problems are listed.
func TestMissingData(t *testing.T) {
	m := isolationManifest(true)
	m.Runs = 2
	r := writeResults(t, m, []arm{
		newArm(1, 0, "none", map[string]*replay.Result{
			"high-0": result(replay.Completed, 10, 100),
			"low-0":  result(replay.WorkerFailed, 1),
		}, "high-0", "low-0", "low-1"),
		newArm(1, 1, "structops", nil, "high-0", "low-0"),
	})
	s := analyze(t, r)
	none := armNamed(t, s, "none")
	if none.HighSlowdown.OK() || none.LowSlowdown.OK() || none.Throughput.OK() {
		t.Errorf("none has slowdowns %+v %+v %+v without baselines", none.HighSlowdown, none.LowSlowdown, none.Throughput)
	}
	if none.LowCompleted != 0 || none.LowReplays != 1 {
		t.Errorf("none LOW survivors %d/%d, want 0/1", none.LowCompleted, none.LowReplays)
	}
	// run 1: static, reference, solo-high, solo-low missing; none: worker_failed
	// low-0, no low-1; structops: no results; run 2: every arm missing.
	if want := 4 + 2 + 2 + 6; len(s.Failures) != want {
		t.Errorf("%d failures, want %d: %+v", len(s.Failures), want, s.Failures)
	}
	var md, table bytes.Buffer
	if err := Markdown(&md, r, s); err != nil {
		t.Fatal(err)
	}
	if err := SummaryTable(&table, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| structops | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a |", "replay worker_failed"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, md.String())
		}
	}
	if !strings.Contains(table.String(), "14 failures") {
		t.Errorf("table lacks the failure count:\n%s", table.String())
	}
	if _, err := Write(t.TempDir(), r, s); err != nil {
		t.Fatal(err)
	}
}

func TestOneRunIsNA(t *testing.T) {
	r := overhead(t)
	r.Arms = r.Arms[:2] // run 1 only
	s := analyze(t, r)
	var buf bytes.Buffer
	if err := SummaryTable(&buf, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "+10.0% ± n/a") {
		t.Errorf("one run: want a difference with an n/a interval:\n%s", buf.String())
	}
}

func TestAnalyzeUnknownKind(t *testing.T) {
	if _, err := Analyze(&bench.Results{Manifest: bench.Manifest{Kind: "other"}}); err == nil {
		t.Error("Analyze of an unknown kind succeeded")
	}
}

func TestEmptyResults(t *testing.T) {
	m := isolationManifest(false)
	r := writeResults(t, m, nil)
	if _, err := Write(t.TempDir(), r, analyze(t, r)); err != nil {
		t.Fatal(err)
	}
}

func TestTableThroughputOnlyWhenHighIdle(t *testing.T) {
	for _, idle := range []bool{false, true} {
		var buf bytes.Buffer
		if err := SummaryTable(&buf, analyze(t, isolation(t, idle))); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(buf.String(), "LOW THROUGHPUT"); got != idle {
			t.Errorf("high_idle %v: throughput column shown %v, want %v:\n%s", idle, got, idle, buf.String())
		}
	}
}
