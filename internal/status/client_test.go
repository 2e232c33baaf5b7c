package status

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestFetch serves a status on a unix socket beside a state file and
// fetches it back.
func TestFetch(t *testing.T) {
	sock := SocketPath(filepath.Join(t.TempDir(), "state.json"))
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	want := Status{Backend: "cgroupfs (psi)", Root: "/sys/fs/cgroup/memqos", Classes: []ClassStatus{{Name: "high", Priority: "high"}}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/status" {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(want)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	got, raw, err := Fetch(context.Background(), sock)
	if err != nil {
		t.Fatal(err)
	}
	if got.Backend != want.Backend || got.Root != want.Root || len(got.Classes) != 1 || got.Classes[0].Name != "high" {
		t.Errorf("got %+v; want %+v", got, want)
	}
	if !strings.Contains(string(raw), `"backend":"cgroupfs (psi)"`) {
		t.Errorf("raw %s", raw)
	}
}

func TestFetchNoDaemon(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "state.json.sock")
	if _, _, err := Fetch(context.Background(), sock); err == nil || !strings.Contains(err.Error(), "no memqos daemon answers on "+sock) {
		t.Fatalf("got %v", err)
	}
}
