package thp

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/testutil"
)

func TestMain(m *testing.M) {
	testutil.Main(m, testutil.Helpers{
		// huge MIB: touch MIB MiB advised MADV_HUGEPAGE and print the
		// process's AnonHugePages in kB.
		"huge": func(args []string) int {
			n, _ := strconv.Atoi(args[0])
			_, kb, err := testutil.MapHuge(n << 20)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 3
			}
			fmt.Println(kb)
			return 0
		},
	})
}

// TestRealMemoryHighReachesTHP measures whether memory.high throttles a
// process whose memory is THP-backed, which the memcg_bpf_ops delay hook
// never reaches (docs/kernel-backend.md): a process touching 64 MiB with
// MADV_HUGEPAGE, under memory.high of 56 MiB and without it. With swap
// off nothing can be reclaimed, so memory.high can only slow it down.
func TestRealMemoryHighReachesTHP(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.CgroupV2)
	type run struct {
		hugeKB int
		high   uint64
		stall  time.Duration
		wall   time.Duration
	}
	measure := func(limit cgroup.Limit) run {
		g := testutil.Cgroup(t)
		if err := g.SetLimit(cgroup.MemoryHigh, limit); err != nil {
			t.Fatal(err)
		}
		cmd := testutil.HelperCommand(t, "huge", "64")
		var out strings.Builder
		cmd.Stdout = &out
		start := time.Now()
		if err := g.Start(cmd); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("huge helper: %v", err)
		}
		r := run{wall: time.Since(start)}
		r.hugeKB, _ = strconv.Atoi(strings.TrimSpace(out.String()))
		ev, err := g.MemoryEvents()
		if err != nil {
			t.Fatal(err)
		}
		r.high = ev.High
		if p, err := g.MemoryPressure(); err == nil {
			r.stall = p.Some.Total
		}
		return r
	}
	free := measure(cgroup.Unlimited)
	capped := measure(56 << 20)
	t.Logf("64 MiB with MADV_HUGEPAGE: no memory.high: AnonHugePages %d kB, wall %v, memory stall %v; memory.high 56 MiB: AnonHugePages %d kB, memory.events high %d, memory stall %v, wall %v",
		free.hugeKB, free.wall.Round(time.Millisecond), free.stall, capped.hugeKB, capped.high, capped.stall, capped.wall.Round(time.Millisecond))
	if capped.hugeKB == 0 {
		t.Fatalf("the process got no huge pages (THP mode %q); nothing measured", mode(t))
	}
	if capped.high == 0 || capped.stall == 0 {
		t.Errorf("memory.high did not reach THP-backed memory: %d high events, %v stall", capped.high, capped.stall)
	}
}

func mode(t *testing.T) string {
	m, err := Mode("/sys")
	if err != nil {
		return err.Error()
	}
	return m
}
