package record

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/trace"
)

// sampler samples one group on the absolute schedule start + k·interval
// (see the package documentation). Both Record and Watch use it.
type sampler struct {
	g        *cgroup.Group
	interval time.Duration
	start    time.Time
	log      *slog.Logger
	samples  []trace.Sample
}

// newSampler returns a sampler of g whose schedule starts now.
func newSampler(g *cgroup.Group, interval time.Duration, log *slog.Logger) *sampler {
	return &sampler{g: g, interval: interval, start: time.Now(), log: log}
}

// take reads one sample now and keeps it; a sample that cannot be read
// is logged, skipped, and its error returned.
func (s *sampler) take() error {
	v, err := sampleOf(s.g, time.Since(s.start))
	if err != nil {
		s.log.Warn("sample skipped", "err", err)
		return err
	}
	s.samples = append(s.samples, v)
	return nil
}

// run samples at once and then at every due time until done is closed or
// next, called after each sample with its error (nil if it was taken),
// returns false.
func (s *sampler) run(done <-chan struct{}, next func(error) bool) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-done:
			return
		case <-timer.C:
		}
		if !next(s.take()) {
			return
		}
		due := s.start.Add(time.Duration(nextTick(time.Since(s.start), s.interval)) * s.interval)
		timer.Reset(time.Until(due))
	}
}

// newTrace builds the trace of samples and validates it.
func newTrace(name, source string, interval time.Duration, samples []trace.Sample) (*trace.Trace, error) {
	t := &trace.Trace{Name: name, Source: source, IntervalMS: interval.Milliseconds(), Samples: samples}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("record %s: %w", name, err)
	}
	return t, nil
}

// samplingDefaults checks a sampling interval, and fills in the default
// interval and a discarding log where they are unset: the options Record
// and Watch share.
func samplingDefaults(interval *time.Duration, log **slog.Logger) error {
	if *interval < 0 || (*interval > 0 && *interval < time.Millisecond) {
		return fmt.Errorf("record: interval %v must be at least 1ms", *interval)
	}
	if *interval == 0 {
		*interval = DefaultInterval
	}
	if *log == nil {
		*log = slog.New(slog.DiscardHandler)
	}
	return nil
}
