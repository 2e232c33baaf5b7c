package replay

import (
	"os"
	"strconv"
	"testing"

	"github.com/memqos/memqos/internal/testutil"
	"github.com/memqos/memqos/internal/thp"
)

// envTHPFile names the file where the helper "worker-thp" reports whether
// THP was disabled for it when the worker ended.
const envTHPFile = "MEMQOS_TEST_THP_FILE"

// TestMain lets the real tests run the worker as a helper child process,
// the way memqos re-executes itself as `memqos trace replay-worker`.
func TestMain(m *testing.M) {
	testutil.Main(m, testutil.Helpers{
		"worker": WorkerMain,
		"worker-thp": func(args []string) int {
			code := WorkerMain(args)
			off, err := thp.Disabled()
			if err != nil || os.WriteFile(os.Getenv(envTHPFile), []byte(strconv.FormatBool(off)), 0o644) != nil {
				return 3
			}
			return code
		},
	})
}
