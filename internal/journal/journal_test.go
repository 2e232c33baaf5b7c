package journal

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRejectsForeignFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(p, []byte(`{"hello": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(p); err == nil || !strings.Contains(err.Error(), "is not a memqos-state/1 file") {
		t.Fatalf("got %v", err)
	}
}

// TestRoundTrip checks that what a journal records is what the next Open
// of its file finds, that the first original wins, and that the file is
// replaced without leaving temporary files beside it.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "run", "state.json")
	j, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []Entry{
		{Cgroup: "/m/low/b", File: "memory.high", Original: "max"},
		{Cgroup: "/m/low/a", File: "cpu.weight", Original: "100"},
		{Cgroup: "/m/low/b", File: "memory.high", Original: "12345"}, // not the first: ignored
		{Cgroup: "/m/low/c", File: "memory.low", Original: "0"},
	} {
		if err := j.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Forget("/m/low/c", "memory.low"); err != nil {
		t.Fatal(err)
	}
	if err := j.Update(Entry{Cgroup: "/m/low/a", File: "cpu.weight", Original: "50"}); err != nil {
		t.Fatal(err)
	}
	want := []Entry{{Cgroup: "/m/low/a", File: "cpu.weight", Original: "50"}, {Cgroup: "/m/low/b", File: "memory.high", Original: "max"}}
	j2, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := j2.Entries(); !reflect.DeepEqual(got, want) {
		t.Errorf("reopened: %+v; want %+v", got, want)
	}
	names, err := os.ReadDir(filepath.Dir(p))
	if err != nil || len(names) != 1 {
		t.Errorf("state directory holds %v, %v; want only state.json", names, err)
	}
}
