package detect

import (
	"time"

	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/govern"
)

// PSI reports pressure in a HIGH class when a PSI trigger on one of its
// members' memory.pressure fires: the member stalled on memory for
// detector.stall within detector.window. It needs a kernel with PSI.
type PSI struct {
	reports
	stall, window time.Duration
}

// NewPSI returns the psi detector for cfg.
func NewPSI(cfg *config.Config) *PSI {
	return &PSI{reports: newReports(), stall: max(cfg.Detector.Stall.D(), time.Millisecond), window: cfg.Detector.Window.D()}
}

func (d *PSI) Name() string { return string(config.SourcePSI) }

// Add arms a trigger on a HIGH member.
func (d *PSI) Add(m *govern.Member) error {
	if !m.High() {
		return nil
	}
	t, err := m.Group.WatchPressure("memory", "some", d.stall, d.window)
	if err != nil {
		return err
	}
	d.keep(m.Path, t)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		for at := range t.C() {
			d.fire(m.Class.Name, at)
		}
	}()
	return nil
}
