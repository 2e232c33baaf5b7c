package bpf

import (
	"testing"
	"time"
)

func TestClassValidation(t *testing.T) {
	good := HighConfig{Threshold: 1, Window: time.Second, Hold: time.Second}
	for name, c := range map[string]HighConfig{
		"short window":   {Window: MinWindow - 1, Hold: time.Second},
		"no hold":        {Window: time.Second},
		"huge threshold": {Threshold: MaxThreshold + 1, Window: time.Second, Hold: time.Second},
	} {
		if c.validate() == nil {
			t.Errorf("%s: %+v accepted", name, c)
		}
	}
	if err := good.validate(); err != nil {
		t.Error(err)
	}
	for name, c := range map[string]LowConfig{
		"negative delay": {Delay: -1},
		"long delay":     {Delay: MaxDelay + 1},
		"class 0":        {YieldsTo: []ClassID{0}},
		"class 64":       {YieldsTo: []ClassID{MaxClasses}},
	} {
		if c.validate() == nil {
			t.Errorf("%s: %+v accepted", name, c)
		}
	}
	for _, id := range []ClassID{0, MaxClasses} {
		if id.valid() == nil {
			t.Errorf("class id %d accepted", id)
		}
	}
}

func TestClassRaw(t *testing.T) {
	h := HighConfig{Threshold: 7, Window: time.Second, Hold: 2 * time.Second, ProtectMin: true, RequireArmed: true}.raw()
	if h.Kind != kindHigh || h.Flags != flagProtectMin|flagRequireArmed || h.WindowNs != 1e9 || h.HoldNs != 2e9 || h.Threshold != 7 {
		t.Errorf("HIGH raw %+v", h)
	}
	l := LowConfig{Delay: 50 * time.Millisecond, YieldsTo: []ClassID{1, 63}}.raw()
	if l.Kind != kindLow || l.DelayMs != 50 || l.YieldsTo != 1<<1|1<<63 {
		t.Errorf("LOW raw %+v", l)
	}
}

// TestLayoutMatchesC checks the Go mirrors of c/memqos.h against the
// compiled object: the counters map has MAX_CLASSES rows of CNT_MAX.
func TestLayoutMatchesC(t *testing.T) {
	spec, err := loadDetector()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := spec.Maps["counters"].MaxEntries, uint32(MaxClasses*cntMax); got != want {
		t.Errorf("counters map has %d entries; the Go side expects %d", got, want)
	}
	if got := len((&Counters{}).counterFields()) + 1; got != cntMax {
		t.Errorf("%d counter fields + tracepoint calls; want CNT_MAX %d", got, cntMax)
	}
	if got := spec.Maps["lease"].MaxEntries; got != 1 {
		t.Errorf("lease map has %d entries; want 1", got)
	}
	if got := spec.Maps["classes"].MaxEntries; got != MaxClasses {
		t.Errorf("classes map has %d entries; want %d", got, MaxClasses)
	}
}

func TestDecodeTrigger(t *testing.T) {
	b := []byte{3, 0, 0, 0, 0, 0, 0, 0, 0, 0xca, 0x9a, 0x3b, 0, 0, 0, 0, 0xe9, 3, 0, 0, 0, 0, 0, 0}
	if got := decodeTrigger(b); got != (Trigger{Class: 3, At: time.Second, Faults: 1001}) {
		t.Errorf("decoded %+v", got)
	}
}

// TestLeaseState checks the Go reading of lease_expired in c/memqos.h.
func TestLeaseState(t *testing.T) {
	const s = uint64(time.Second)
	for _, tc := range []struct {
		hb, lease uint64
		now       time.Duration
		expired   bool
	}{
		{0, 0, 100 * time.Second, false},          // no lease
		{0, 5 * s, 100 * time.Second, true},       // a lease, never beaten
		{95 * s, 5 * s, 100 * time.Second, false}, // exactly the lease old
		{94 * s, 5 * s, 100 * time.Second, true},
		{101 * s, 5 * s, 100 * time.Second, false}, // beaten after now was read
		{10 * s, 0, 100 * time.Second, false},
	} {
		got := leaseState(detectorMemqosLease{HeartbeatNs: tc.hb, LeaseNs: tc.lease}, tc.now)
		if got.Expired != tc.expired {
			t.Errorf("heartbeat %v, lease %v, now %v: expired %v; want %v", time.Duration(tc.hb), time.Duration(tc.lease), tc.now, got.Expired, tc.expired)
		}
	}
}
