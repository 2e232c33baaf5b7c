package daemon

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/testutil"
	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// countingBackend is the fake backend with counters, so that the
// backend's counter series exist.
type countingBackend struct{ *fakeBackend }

func (countingBackend) counters(class string) map[string]uint64 {
	return map[string]uint64{"faults": 7, "triggers": 1}
}

// TestMetricsGolden holds /metrics to testdata/metrics.golden: every
// metric's name, type, help and labels, and its value after a known
// sequence (a scan, a pressure trigger of the HIGH class, two ticks over
// contendedTree). The ticks are run here, not by Run, so that the values
// do not depend on timing; the reaction latency, which does, keeps only
// its sample count. A renamed or relabelled metric fails the test: update
// the golden file (go test -update) only for an intended change, and say
// so to the dashboards' owners.
func TestMetricsGolden(t *testing.T) {
	fsys := contendedTree(t)
	be := countingBackend{newFake()}
	// A long hold: the pressure the trigger starts lasts through the test
	// however slowly it runs.
	text := strings.Replace(testConfig, "hold: 500ms", "hold: 10m", 1)
	cfg, err := config.Parse([]byte(text + "state: " + filepath.Join(t.TempDir(), "state.json") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Options{Config: cfg, FS: fsys, Backend: use(be), Machine: 4 << 30, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.shutdown("test done")
	if err := d.classKnobs(); err != nil {
		t.Fatal(err)
	}
	if err := d.rescan(); err != nil {
		t.Fatal(err)
	}
	be.fire("high")
	d.metrics.trigger((<-be.triggers()).class) // as the loop does
	d.tick()
	d.tick()

	if problems, err := promtest.GatherAndLint(d.Gatherer()); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
	// GatherAndFormat keeps only the families named (none when none
	// are): name them all.
	fams, err := d.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range fams {
		names = append(names, f.GetName())
	}
	got, err := promtest.GatherAndFormat(normalized(d.Gatherer()), expfmt.TypeTextPlain, names...)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, filepath.Join("testdata", "metrics.golden"), got)
}

// normalized gathers g and drops what depends on timing: a histogram
// keeps its sample count, not its buckets or sum.
func normalized(g prometheus.Gatherer) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		fams, err := g.Gather()
		for _, f := range fams {
			for _, m := range f.GetMetric() {
				if h := m.GetHistogram(); h != nil {
					h.Bucket, h.SampleSum = nil, new(float64)
				}
			}
		}
		return fams, err
	})
}
