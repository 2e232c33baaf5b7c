package replay

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/trace"
)

// fakeClock is a clock whose time moves only when the schedule sleeps or a
// step spends time.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) error {
	if t.After(c.now) {
		c.now = t
	}
	return ctx.Err()
}

const ms = time.Millisecond

func TestDueTimes(t *testing.T) {
	tr := &trace.Trace{Name: "x", Samples: []trace.Sample{{TimeMS: 1000}, {TimeMS: 2041}, {TimeMS: 3086}, {TimeMS: 3086}}}
	tests := []struct {
		speed float64
		want  []time.Duration
	}{
		{1, []time.Duration{0, 1041 * ms, 2086 * ms, 2086 * ms}},
		{50, []time.Duration{0, 20820 * time.Microsecond, 41720 * time.Microsecond, 41720 * time.Microsecond}},
		{0.5, []time.Duration{0, 2082 * ms, 4172 * ms, 4172 * ms}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("speed %v", tt.speed), func(t *testing.T) {
			if got := DueTimes(tr, tt.speed); !slices.Equal(got, tt.want) {
				t.Errorf("DueTimes(speed %v) = %v; want %v", tt.speed, got, tt.want)
			}
		})
	}
}

func TestScheduleIsAbsolute(t *testing.T) {
	dues := []time.Duration{0, 10 * ms, 20 * ms, 30 * ms, 40 * ms}
	tests := []struct {
		name     string
		costs    []time.Duration
		lateness []time.Duration
		wall     time.Duration
	}{
		{"on time", []time.Duration{ms, ms, ms, ms, ms},
			[]time.Duration{0, 0, 0, 0, 0}, 41 * ms},
		// One slow step makes the next two late; the ones after are on
		// time again, so lateness does not accumulate.
		{"one slow step", []time.Duration{25 * ms, ms, ms, ms, ms},
			[]time.Duration{0, 15 * ms, 6 * ms, 0, 0}, 41 * ms},
		// A worker slower than the schedule falls behind by its excess
		// each step, measured against the absolute due times.
		{"always slow", []time.Duration{15 * ms, 15 * ms, 15 * ms, 15 * ms, 15 * ms},
			[]time.Duration{0, 5 * ms, 10 * ms, 15 * ms, 20 * ms}, 75 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fakeClock{now: time.Unix(1000, 0)}
			var began []time.Duration
			start := clk.now
			r, err := runSchedule(context.Background(), clk, dues, func(i int, _ time.Duration) error {
				began = append(began, clk.now.Sub(start))
				clk.now = clk.now.Add(tt.costs[i])
				return nil
			})
			if err != nil || r.Done != len(dues) {
				t.Fatalf("runSchedule = %d done, %v", r.Done, err)
			}
			if !slices.Equal(r.Lateness, tt.lateness) {
				t.Errorf("lateness = %v; want %v (steps began at %v)", r.Lateness, tt.lateness, began)
			}
			if r.Wall != tt.wall {
				t.Errorf("wall = %v; want %v", r.Wall, tt.wall)
			}
		})
	}
}

func TestScheduleStops(t *testing.T) {
	dues := []time.Duration{0, 10 * ms, 20 * ms}
	boom := errors.New("boom")
	t.Run("step error", func(t *testing.T) {
		clk := &fakeClock{now: time.Unix(0, 0)}
		r, err := runSchedule(context.Background(), clk, dues, func(i int, _ time.Duration) error {
			if i == 1 {
				return boom
			}
			return nil
		})
		if !errors.Is(err, boom) || r.Done != 1 || len(r.Lateness) != 2 {
			t.Errorf("runSchedule = %+v, %v; want 1 done, 2 begun, boom", r, err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		clk := &fakeClock{now: time.Unix(0, 0)}
		r, err := runSchedule(ctx, clk, dues, func(i int, _ time.Duration) error {
			cancel()
			return nil
		})
		if !errors.Is(err, context.Canceled) || r.Done != 1 {
			t.Errorf("runSchedule = %+v, %v; want 1 done, canceled", r, err)
		}
	})
}

func TestWallClockSleepsUntil(t *testing.T) {
	at := time.Now().Add(20 * ms)
	if err := (wallClock{}).SleepUntil(context.Background(), at); err != nil {
		t.Fatal(err)
	}
	if time.Now().Before(at) {
		t.Error("SleepUntil returned early")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (wallClock{}).SleepUntil(ctx, time.Now().Add(time.Hour)); !errors.Is(err, context.Canceled) {
		t.Errorf("SleepUntil with a canceled context = %v", err)
	}
}

func TestLatenessSummary(t *testing.T) {
	l := newLateness([]time.Duration{0, 500 * time.Microsecond, 15 * ms, 6 * ms, 0})
	want := Lateness{ThresholdUS: 1000, LateSamples: 2, MaxUS: 15000, MeanUS: 4300}
	if l != want {
		t.Errorf("newLateness = %+v; want %+v", l, want)
	}
	if l := newLateness(nil); l != (Lateness{ThresholdUS: 1000}) {
		t.Errorf("newLateness(nil) = %+v", l)
	}
}

func TestLatencyBound(t *testing.T) {
	ev := func(us ...float64) []Event {
		var out []Event
		for _, u := range us {
			out = append(out, Event{LatencyUS: u})
		}
		return out
	}
	dues := []time.Duration{10 * ms, 20 * ms, 30 * ms, 40 * ms}
	tests := []struct {
		name   string
		events []Event
		want   time.Duration
	}{
		{"keeps up", ev(1000, 1000, 1000, 1000), 41 * ms},
		{"one slow step catches up", ev(25000, 1000, 1000, 1000), 41 * ms},
		{"slow at the end", ev(1000, 1000, 1000, 25000), 65 * ms},
		{"always slow", ev(15000, 15000, 15000, 15000), 70 * ms},
		{"stopped early", ev(1000), 11 * ms},
		{"none", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := latencyBound(dues, tt.events); got != tt.want {
				t.Errorf("latencyBound = %v; want %v", got, tt.want)
			}
		})
	}
}
