package bpf_test

import (
	"errors"
	"os/exec"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/bpf"
	"github.com/memqos/memqos/internal/testutil"
)

// expire sets a short lease and waits, without beating, until the
// programs see it expired.
func expire(t *testing.T, d *bpf.Detector) {
	t.Helper()
	if err := d.SetLease(300 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := d.Lease()
		if err != nil {
			t.Fatal(err)
		}
		if st.Expired {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lease %+v not expired after 10 s", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestLeaseEndsDelay: while HIGH is under pressure, LOW's charges are
// delayed while the lease holds, not delayed once it expired (each such
// hook call counted as LeaseExpired), and delayed again once it is
// renewed.
func TestLeaseEndsDelay(t *testing.T) {
	testutil.Require(t, testutil.MemcgOps)
	high := bpf.HighConfig{Threshold: 0, Window: time.Second, Hold: time.Hour}
	low := bpf.LowConfig{Delay: 20 * time.Millisecond, YieldsTo: []bpf.ClassID{highClass}}
	d := newDetector(t, high, low)
	parent := testutil.ParentCgroup(t)
	hg, lg := child(t, parent, "high"), child(t, parent, "low")
	if _, err := attach(t, d, bpf.Low, lowClass, lg, 0); err != nil {
		t.Fatal(err)
	}
	addHigh(t, d, hg, highClass)
	run(t, hg, 1)
	if !pressure(t, d, highClass).Active {
		t.Fatal("HIGH not under pressure after faulting with threshold 0")
	}
	if st, err := d.Lease(); err != nil || st != (bpf.LeaseState{}) {
		t.Fatalf("a new detector's lease: %+v, %v; want none", st, err)
	}

	if err := d.SetLease(time.Hour); err != nil {
		t.Fatal(err)
	}
	before := counters(t, d, lowClass)
	run(t, lg, 4)
	c := counters(t, d, lowClass).Sub(before)
	if c.DelayActive == 0 || c.LeaseExpired != 0 {
		t.Fatalf("LOW under pressure with a fresh lease: %+v; want delays and no expiry", c)
	}
	t.Logf("lease held: %d delay calls, %d delays", c.DelayCalls, c.DelayActive)

	expire(t, d)
	before = counters(t, d, lowClass)
	run(t, lg, 4)
	c = counters(t, d, lowClass).Sub(before)
	if c.DelayCalls == 0 || c.DelayActive != 0 || c.LeaseExpired != c.DelayCalls {
		t.Fatalf("LOW under pressure with the lease expired: %+v; want hook calls, each counted as lease expired, and no delay", c)
	}
	if !pressure(t, d, highClass).Active {
		t.Fatal("HIGH's pressure ended: the lease must not touch detection")
	}
	t.Logf("lease expired: %d delay calls, %d delays, %d lease expiries", c.DelayCalls, c.DelayActive, c.LeaseExpired)

	if err := d.Heartbeat(); err != nil {
		t.Fatal(err)
	}
	if st, err := d.Lease(); err != nil || st.Expired || st.Lease != 300*time.Millisecond {
		t.Fatalf("lease after a heartbeat: %+v, %v", st, err)
	}
	if err := d.SetLease(time.Hour); err != nil { // renewed for longer than the run
		t.Fatal(err)
	}
	before = counters(t, d, lowClass)
	run(t, lg, 1)
	if c := counters(t, d, lowClass).Sub(before); c.DelayActive == 0 || c.LeaseExpired != 0 {
		t.Fatalf("LOW after the lease was renewed: %+v; want delays", c)
	}

	// Another process sees the same counters and lease from the kernel.
	peek, err := bpf.PeekLoaded()
	if err != nil {
		t.Fatal(err)
	}
	defer peek.Close()
	pc, err1 := peek.Counters(lowClass)
	pl, err2 := peek.Lease()
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if dc, dl := counters(t, d, lowClass), must(d.Lease()); pc != dc || pl.Lease != dl.Lease || pl.Heartbeat != dl.Heartbeat {
		t.Errorf("peek: %+v %+v; the detector: %+v %+v", pc, pl, dc, dl)
	}

	// No lease: the ops act whatever the heartbeat.
	if err := d.SetLease(0); err != nil {
		t.Fatal(err)
	}
	if st, _ := d.Lease(); st.Expired {
		t.Errorf("lease 0 reads as expired: %+v", st)
	}
	if err := d.SetLease(-time.Second); err == nil {
		t.Error("SetLease(-1s) accepted")
	}
}

// TestLeaseEndsProtection: under reclaim, below_low protects HIGH while
// the lease holds and not once it expired.
func TestLeaseEndsProtection(t *testing.T) {
	testutil.Require(t, testutil.MemcgOps)
	cfg := bpf.HighConfig{Threshold: 0, Window: time.Second, Hold: time.Hour, ProtectLow: true}
	d := newDetector(t, cfg, bpf.LowConfig{})
	high, low := reclaimPair(t)
	if _, err := attach(t, d, bpf.High, highClass, high, 0); err != nil {
		t.Fatal(err)
	}
	addHigh(t, d, high, highClass)
	// HIGH's page cache on a real disk, written anew before each run;
	// LOW's anonymous memory then forces reclaim in the parent, which
	// consults below_low for HIGH.
	file := testutil.ScratchDir(t) + "/high.data"
	cache := func() {
		t.Helper()
		cmd := exec.Command("dd", "if=/dev/zero", "of="+file, "bs=1M", "count=24", "conv=fsync")
		if err := high.Start(cmd); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	cache()
	if !pressure(t, d, highClass).Active {
		t.Fatal("HIGH not under pressure after faulting with threshold 0")
	}
	if err := d.SetLease(time.Hour); err != nil {
		t.Fatal(err)
	}
	before := counters(t, d, highClass)
	run(t, low, 48)
	c := counters(t, d, highClass).Sub(before)
	if c.BelowLowActive == 0 || c.LeaseExpired != 0 {
		t.Fatalf("under reclaim with a fresh lease: %+v; want HIGH protected", c)
	}
	t.Logf("lease held, under reclaim: %d below_low calls, %d protected", c.BelowLowCalls, c.BelowLowActive)

	cache()
	expire(t, d)
	before = counters(t, d, highClass)
	run(t, low, 48)
	c = counters(t, d, highClass).Sub(before)
	if c.BelowLowCalls == 0 || c.BelowLowActive != 0 || c.LeaseExpired != c.BelowLowCalls {
		t.Fatalf("under reclaim with the lease expired: %+v; want below_low calls, each counted as lease expired, none protecting", c)
	}
	t.Logf("lease expired, under reclaim: %d below_low calls, %d protected, %d lease expiries", c.BelowLowCalls, c.BelowLowActive, c.LeaseExpired)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
