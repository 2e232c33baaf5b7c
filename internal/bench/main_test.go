package bench

import (
	"os"
	"os/exec"
	"testing"

	"github.com/memqos/memqos/internal/testutil"
	"github.com/memqos/memqos/internal/trace/replay"
)

// TestMain lets the real tests run the replay worker as a child process,
// the way memqos re-executes itself as `memqos trace replay-worker`.
func TestMain(m *testing.M) {
	testutil.Main(m, testutil.Helpers{"worker": replay.WorkerMain})
}

// workerForTest is Options.Worker for tests: this test binary as the
// replay worker.
func workerForTest(args []string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), testutil.HelperEnv("worker"))
	cmd.Stderr = os.Stderr
	return cmd
}
