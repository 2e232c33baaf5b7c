package record

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m, helpers) }

var helpers = testutil.Helpers{
	// steps TOTAL STEP PAUSE HOLD: allocate TOTAL bytes of anonymous
	// memory in STEP-byte steps, touching every page, sleeping PAUSE after
	// each step, then hold it for HOLD and exit 0.
	"steps": func(args []string) int {
		total, _ := strconv.Atoi(args[0])
		step, _ := strconv.Atoi(args[1])
		pause, _ := time.ParseDuration(args[2])
		hold, _ := time.ParseDuration(args[3])
		var keep [][]byte
		for done := 0; done < total; done += step {
			b, err := testutil.MapTouched(min(step, total-done))
			if err != nil {
				return 3
			}
			keep = append(keep, b)
			time.Sleep(pause)
		}
		time.Sleep(hold)
		runtime.KeepAlive(keep)
		return 0
	},
	"sleep": func([]string) int { time.Sleep(time.Hour); return 0 },
	// record: record /bin/true; exit 13 with the error on stdout if it
	// fails for lack of permission.
	"record": func([]string) int {
		o := Options{FS: &cgroup.FS{Root: cgroup.DefaultRoot}, Command: exec.Command("/bin/true")}
		_, err := Record(context.Background(), o)
		if errors.Is(err, fs.ErrPermission) {
			fmt.Println(err)
			return 13
		}
		return 1
	},
	// orphan: start a sleeping child in this group, then exit 0.
	"orphan": func([]string) int {
		cmd := exec.Command("/proc/self/exe")
		cmd.Env = append(os.Environ(), testutil.HelperEnv("sleep"))
		if cmd.Start() != nil {
			return 3
		}
		return 0
	},
}
