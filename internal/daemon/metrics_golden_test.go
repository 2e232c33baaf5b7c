package daemon

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/memqos/memqos/internal/testutil"
	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// TestMetricsGolden holds /metrics to testdata/metrics.golden: every
// metric's name, type, help and labels, and its value after a known
// sequence (a scan, a pressure trigger of the HIGH class, two ticks over
// contendedTree). The ticks are run here, not by Run, so that the values
// do not depend on timing; the reaction latency, which does, keeps only
// its sample count. A renamed or relabelled metric fails the test: update
// the golden file (go test -update) only for an intended change, and say
// so to the dashboards' owners.
func TestMetricsGolden(t *testing.T) {
	// A long hold: the pressure the trigger starts lasts through the test.
	h := newHarness(t, contendedTree(t), strings.Replace(testConfig, "hold: 500ms", "hold: 10m", 1), false)
	defer h.stop()
	h.det.counters = map[string]uint64{"faults": 7, "triggers": 1} // so that the detector's counter series exist
	h.det.fire("high")
	h.step()
	h.step()
	d := h.d

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
