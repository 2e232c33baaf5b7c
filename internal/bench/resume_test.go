package bench

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/testutil"
)

// fakeBench is an isolation bench on a fake cgroup tree (a plain
// directory): every arm fails early, as nothing there is a cgroup, but the
// bench still walks its arms in order, writes each arm's arm.json and
// reports progress, which is what resuming is about.
func fakeBench(t *testing.T, out string, resume bool) (Options, *[]string) {
	sc, _ := testTraces()
	sc.High, sc.Low = []string{"builtin:dask__dask-11628"}, []string{"builtin:sigmavirus24__github3.py-673"}
	var ran []string
	o := Options{FS: &cgroup.FS{Root: testutil.FakeCgroupTree(t, map[string]string{"cgroup.subtree_control": ""})}, Parent: "b", Out: out, Resume: resume, Scenario: sc,
		Strategies: []Strategy{None, Static}, Runs: 2, Seed: 7, ArmTimeout: time.Minute, Worker: workerForTest,
		Log: slog.New(slog.NewTextHandler(testutil.LogWriter(t), nil)), Progress: func(done, total int, a *Arm) {
			ran = append(ran, fmt.Sprintf("%d/%d %d:%s@%d", done, total, a.Run, a.Name, a.Order))
		}}
	return o, &ran
}

func readManifest(t *testing.T, dir string) Manifest {
	t.Helper()
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestResumeSkipsDoneAndDiscardsUnfinished crashes a bench by hand: of a
// finished bench it keeps run 1, leaves run 2's second arm begun (a
// directory without arm.json, as a crash leaves it) and removes the rest.
// Recover discards the begun arm, and the resumed bench runs exactly the
// arms after it, in the order of the first bench, and keeps the
// discarded arm in its manifest.
func TestResumeSkipsDoneAndDiscardsUnfinished(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r")
	o, first := fakeBench(t, out, false)
	if err := Isolation(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	if len(*first) != 8 {
		t.Fatalf("the first bench ran %q; want 8 arms", *first)
	}
	// Run 2's arms in order, from the first bench's progress.
	var run2 []string
	for _, s := range (*first)[4:] {
		_, arm, _ := strings.Cut(s, " 2:")
		run2 = append(run2, strings.Split(arm, "@")[0])
	}
	runDir := filepath.Join(out, RunsDir, "2")
	os.Remove(filepath.Join(runDir, run2[1], ArmFile))
	os.WriteFile(filepath.Join(runDir, run2[1], "daemon.log"), []byte("half\n"), 0o644)
	for _, name := range run2[2:] {
		os.RemoveAll(filepath.Join(runDir, name))
	}
	// A crash can leave an arm.json empty: that arm is unfinished too.
	os.WriteFile(filepath.Join(runDir, run2[0], ArmFile), nil, 0o644)

	rec, err := Recover(out, "guest kernel panic: Oops: int3")
	if err != nil {
		t.Fatal(err)
	}
	wantDiscarded := []DiscardedArm{{2, run2[0], "guest kernel panic: Oops: int3"}, {2, run2[1], "guest kernel panic: Oops: int3"}}
	slices.SortFunc(wantDiscarded, func(a, b DiscardedArm) int { return strings.Compare(a.Name, b.Name) })
	if !rec.Started || rec.Done != 4 || !reflect.DeepEqual(rec.Discarded, wantDiscarded) {
		t.Fatalf("Recover = %+v; want started, 4 done, discarded %v", rec, wantDiscarded)
	}
	if b, err := os.ReadFile(filepath.Join(runDir, run2[1]+discardedSuffix, "daemon.log")); err != nil || string(b) != "half\n" {
		t.Errorf("the discarded arm's files were not kept aside: %q %v", b, err)
	}
	if again, err := Recover(out, "again"); err != nil || again.Done != 4 || len(again.Discarded) != 0 {
		t.Errorf("a second Recover = %+v, %v; want nothing more discarded", again, err)
	}

	o, resumed := fakeBench(t, out, true)
	if err := Isolation(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	want := []string{fmt.Sprintf("7/8 2:%s@2", run2[2]), fmt.Sprintf("8/8 2:%s@3", run2[3])}
	if !slices.Equal(*resumed, want) {
		t.Errorf("the resumed bench ran %q; want %q", *resumed, want)
	}
	m := readManifest(t, out)
	if !reflect.DeepEqual(m.Discarded, wantDiscarded) || m.Finished == "" || m.Seed != 7 {
		t.Errorf("manifest: discarded %v, finished %q, seed %d; want %v, a time, 7", m.Discarded, m.Finished, m.Seed, wantDiscarded)
	}
	res, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Arms) != 6 {
		t.Errorf("loaded %d arms; want 6 (8 less the 2 discarded)", len(res.Arms))
	}
}

// TestResumeRefusesAnotherBench checks that a resume is of the same bench:
// another seed would run the arms in another order.
func TestResumeRefusesAnotherBench(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r")
	o, _ := fakeBench(t, out, false)
	if err := Isolation(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	o, ran := fakeBench(t, out, true)
	o.Seed = 8
	err := Isolation(t.Context(), o)
	if err == nil || !strings.Contains(err.Error(), "seed 7") || len(*ran) != 0 {
		t.Errorf("got %v after %q; want a refusal naming seed 7, before any arm", err, *ran)
	}
	o, _ = fakeBench(t, filepath.Join(t.TempDir(), "none"), true)
	if err := Isolation(t.Context(), o); err == nil || !strings.Contains(err.Error(), "resume") {
		t.Errorf("resuming a missing bench: %v", err)
	}
}

func TestRecoverWithoutManifest(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, RunsDir, "1", "none"), 0o755)
	rec, err := Recover(dir, "boot oops")
	if err != nil || rec.Started || len(rec.Discarded) != 0 {
		t.Errorf("Recover = %+v, %v; want nothing started, nothing discarded", rec, err)
	}
}
