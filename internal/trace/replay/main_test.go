package replay

import (
	"testing"

	"github.com/memqos/memqos/internal/testutil"
)

// TestMain lets the real tests run the worker as a helper child process,
// the way memqos re-executes itself as `memqos trace replay-worker`.
func TestMain(m *testing.M) {
	testutil.Main(m, testutil.Helpers{"worker": WorkerMain})
}
