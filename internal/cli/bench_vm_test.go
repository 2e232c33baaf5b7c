package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/bench"
	"github.com/memqos/memqos/internal/testutil"
	"github.com/memqos/memqos/internal/vm"
)

// fakeGuests plays guests for runGuests: each boot does the next step of
// a script on the results directory, as a guest running the bench would,
// and ends as the step says.
type fakeGuests struct {
	t       *testing.T
	results string
	steps   []fakeStep
	resumed []bool // the resume argument of each boot
}

type fakeStep struct {
	manifest bool     // write bench.json (a bench that started)
	finish   []string // arms that finish: RUN/ARM gets its arm.json
	begin    string   // an arm left begun: RUN/ARM without arm.json
	err      error    // how the guest ends
}

func (f *fakeGuests) boot(ctx context.Context, resume bool) (vm.Result, error) {
	f.resumed = append(f.resumed, resume)
	s := f.steps[len(f.resumed)-1]
	if s.manifest {
		m := bench.Manifest{Format: bench.ManifestFormat, Kind: bench.KindOverhead, Arms: []string{"none", "structops"}, Runs: 2}
		f.write(bench.ManifestFile, m)
	}
	for _, a := range s.finish {
		run, name, _ := strings.Cut(a, "/")
		f.write(filepath.Join(bench.RunsDir, a, bench.ArmFile), bench.Arm{Format: bench.ArmFormat, Name: name, Run: int(run[0] - '0')})
	}
	if s.begin != "" {
		if err := os.MkdirAll(filepath.Join(f.results, bench.RunsDir, s.begin), 0o755); err != nil {
			f.t.Fatal(err)
		}
	}
	return vm.Result{}, s.err
}

func (f *fakeGuests) write(rel string, v any) {
	p := filepath.Join(f.results, rel)
	b, _ := json.Marshal(v)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// panicked is the error vm.Run returns for a guest that oopsed under a
// bench: its /out came back, partial.
func panicked() error {
	return &vm.PartialOutError{Err: &vm.PanicError{Line: "Kernel panic - not syncing: Fatal exception", Oops: "Oops: int3: 0000 [#1] SMP"}}
}

func TestRunGuests(t *testing.T) {
	timeout := &vm.TimeoutError{Timeout: time.Hour}
	for _, tc := range []struct {
		name      string
		steps     []fakeStep
		crashes   int
		resumed   []bool
		discarded []string // RUN/ARM
		wantErr   string
		wantErrAs any
	}{
		{name: "no crash", crashes: 3,
			steps:   []fakeStep{{manifest: true, finish: []string{"1/none", "1/structops", "2/none", "2/structops"}}},
			resumed: []bool{false}},
		{name: "crash mid-arm, resume with the next", crashes: 3,
			steps: []fakeStep{
				{manifest: true, finish: []string{"1/structops"}, begin: "1/none", err: panicked()},
				{finish: []string{"2/none", "2/structops"}},
			},
			resumed: []bool{false, true}, discarded: []string{"1/none"}},
		{name: "crash at boot starts over", crashes: 3,
			steps:   []fakeStep{{err: vm.ErrNoStatus}, {manifest: true, finish: []string{"1/none"}}},
			resumed: []bool{false, false}},
		{name: "crashes in a row give up", crashes: 2,
			steps: []fakeStep{
				{manifest: true, finish: []string{"1/none"}, begin: "1/structops", err: panicked()},
				{begin: "2/none", err: panicked()},
				{begin: "2/structops", err: panicked()},
				{},
			},
			resumed: []bool{false, true, true}, discarded: []string{"1/structops", "2/none", "2/structops"},
			wantErr: "the guest crashed 2 times in a row with no arm finished; giving up (--vm-crashes)", wantErrAs: new(*vm.PanicError)},
		{name: "a finished arm resets the count", crashes: 2,
			steps: []fakeStep{
				{manifest: true, begin: "1/none", err: panicked()},
				{finish: []string{"1/structops"}, begin: "2/none", err: panicked()},
				{finish: []string{"2/structops"}},
			},
			resumed: []bool{false, true, true}, discarded: []string{"1/none", "2/none"}},
		{name: "qemu failing is a crash", crashes: 3,
			steps:   []fakeStep{{manifest: true, begin: "1/none", err: &vm.QemuError{Err: errors.New("signal: aborted")}}, {}},
			resumed: []bool{false, true}, discarded: []string{"1/none"}},
		{name: "a timeout is not a crash", crashes: 3,
			steps:   []fakeStep{{manifest: true, begin: "1/none", err: &vm.PartialOutError{Err: timeout}}, {}},
			resumed: []bool{false}, wantErr: "did not finish within", wantErrAs: new(*vm.TimeoutError)},
		{name: "a guest init failure is not a crash", crashes: 3,
			steps:   []fakeStep{{err: &vm.GuestError{Msg: "no /out disk"}}, {}},
			resumed: []bool{false}, wantErr: "no /out disk", wantErrAs: new(*vm.GuestError)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeGuests{t: t, results: filepath.Join(t.TempDir(), "results"), steps: tc.steps}
			log := slog.New(slog.NewTextHandler(testutil.LogWriter(t), nil))
			_, boots, err := runGuests(t.Context(), f.results, tc.crashes, f.boot, log)
			if tc.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, tc.wantErrAs)) {
				t.Fatalf("got %v; want %q", err, tc.wantErr)
			}
			if boots != len(tc.resumed) || !reflect.DeepEqual(f.resumed, tc.resumed) {
				t.Errorf("%d boots, resumed %v; want %v", boots, f.resumed, tc.resumed)
			}
			var got []string
			var m bench.Manifest
			if b, err := os.ReadFile(filepath.Join(f.results, bench.ManifestFile)); err == nil {
				json.Unmarshal(b, &m)
			}
			for _, d := range m.Discarded {
				got = append(got, fmt.Sprintf("%d/%s", d.Run, d.Name))
				if !strings.Contains(d.Why, "Oops") && !strings.Contains(d.Why, "qemu failed") {
					t.Errorf("discarded %d/%s: why %q; want the crash", d.Run, d.Name, d.Why)
				}
			}
			if !reflect.DeepEqual(got, tc.discarded) {
				t.Errorf("discarded %v; want %v", got, tc.discarded)
			}
		})
	}
}
