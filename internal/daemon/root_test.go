package daemon

import (
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/actuate"
	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/govern"
	"github.com/memqos/memqos/internal/policy"
)

// TestRootOnOtherMount checks that a root given as a full path is found
// below the daemon's cgroup mount wherever that is mounted, and that a
// full path outside the mount is refused naming both.
func TestRootOnOtherMount(t *testing.T) {
	fsys := fakeTree(t)
	newWithRoot := func(root string) (*Daemon, error) {
		text := strings.Replace(testConfig, "root: memqos", "root: "+root, 1)
		cfg, err := config.Parse([]byte(text + "state: " + filepath.Join(t.TempDir(), "state.json") + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		return New(Options{Config: cfg, FS: fsys, Machine: 4 << 30, Logger: slog.New(slog.DiscardHandler),
			Plugins: func(_ *config.Config, k govern.Knobs) (govern.Detector, []govern.Actuator, policy.Means, error) {
				return newFakeDetector(time.Now), []govern.Actuator{actuate.NewKnobs(k)}, policy.Means{}, nil
			}})
	}
	d, err := newWithRoot(filepath.Join(fsys.Root, "memqos"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(fsys.Root, "memqos"); d.root.Path() != want {
		t.Errorf("root %s; want %s", d.root.Path(), want)
	}
	_, err = newWithRoot("/sys/fs/cgroup/memqos")
	if !errors.Is(err, cgroup.ErrOutsideMount) || !strings.Contains(err.Error(), "/sys/fs/cgroup/memqos") || !strings.Contains(err.Error(), fsys.Root) {
		t.Errorf("New with a root outside the mount: %v; want an error naming both", err)
	}
}
