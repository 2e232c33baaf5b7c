package policy

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/memqos/memqos/internal/config"
)

const mib = 1 << 20

func mustConfig(t *testing.T, doc string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const twoClasses = `
detector: {hold: 2s, headroom: 100MiB}
classes:
  - {name: high, priority: high, protect: low}
  - name: low
    priority: low
    floor: 64MiB
    step: 32MiB
    escalation: {after: 3s, action: none}
`

var t0 = time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)

// world builds snapshots of one HIGH member and one LOW member under a
// 1000 MiB root.
type world struct {
	now         time.Time
	rootUsage   uint64
	trigger     time.Time
	highUsage   uint64
	highReserve uint64
	lowUsage    uint64
	lowHigh     uint64
	lowMemStall time.Duration
}

func (w *world) snap() Snapshot {
	return Snapshot{
		Now:  w.now,
		Root: Memory{Usage: w.rootUsage, Limit: 1000 * mib},
		Classes: []ClassState{
			{Name: "high", LastTrigger: w.trigger, Members: []Member{{Path: "memqos/high/a", Usage: w.highUsage, High: Max, Reserved: w.highReserve}}},
			{Name: "low", Members: []Member{{Path: "memqos/low/b", Usage: w.lowUsage, High: w.lowHigh, MemStall: w.lowMemStall}}},
		},
	}
}

// apply carries out the plan's memory.high writes on the world, as the
// daemon would.
func (w *world) apply(p Plan) {
	for _, in := range p.Intents {
		if in.Path != "memqos/low/b" {
			continue
		}
		switch in.Kind {
		case Cap:
			w.lowHigh = in.Bytes
		case Uncap:
			w.lowHigh = Max
		}
	}
}

// writes renders the plan's protections and caps, one a line.
func writes(p Plan) string {
	var s []string
	for _, in := range p.Intents {
		if !slices.Contains(Escalations, in.Kind) {
			s = append(s, in.String())
		}
	}
	return strings.Join(s, "\n")
}

// escalations returns the plan's escalation intents.
func escalations(p Plan) []Intent {
	var out []Intent
	for _, in := range p.Intents {
		if slices.Contains(Escalations, in.Kind) {
			out = append(out, in)
		}
	}
	return out
}

// The means of the two kinds of host: knobs only (a stock kernel), and
// the kernel's charge delay and protection (memcg_bpf_ops).
var (
	knobMeans   = Means{}
	kernelMeans = Means{Delay: true, KernelProtect: true}
)

func TestNoContentionNobodyPays(t *testing.T) {
	e, _ := New(mustConfig(t, twoClasses), knobMeans)
	w := &world{now: t0, rootUsage: 500 * mib, trigger: t0, highUsage: 300 * mib, lowUsage: 200 * mib, lowHigh: Max}
	for i := 0; i < 5; i++ {
		p := e.Decide(w.snap())
		if p.Contended || p.Near || p.Pressured["high"] || p.Arm["high"] || len(p.Intents) > 0 {
			t.Fatalf("tick %d with 500 MiB free: %+v", i, p)
		}
		w.now = w.now.Add(time.Second)
		w.trigger = w.now
	}
}

// TestHooksLingerAfterNear: the kernel's hooks are wanted from the first
// snapshot that finds contention near, and until HooksLinger after the
// last one.
func TestHooksLingerAfterNear(t *testing.T) {
	e, _ := New(mustConfig(t, twoClasses), kernelMeans)
	w := &world{now: t0, highUsage: 300 * mib, lowUsage: 200 * mib, lowHigh: Max}
	for _, tc := range []struct {
		name  string
		after time.Duration
		usage uint64 // of the 1000 MiB root: near from 801 MiB, contended from 901 MiB
		want  bool
	}{
		{"far", 0, 500 * mib, false},
		{"far still", HooksLinger, 800 * mib, false},
		{"near", time.Second, 801 * mib, true},
		{"contended", time.Second, 950 * mib, true},
		{"far again", time.Second, 500 * mib, true},
		{"far for the linger", HooksLinger - time.Second, 500 * mib, true},
		{"far for longer", time.Second + time.Millisecond, 500 * mib, false},
		{"near again", time.Second, 850 * mib, true},
	} {
		w.now = w.now.Add(tc.after)
		w.rootUsage = tc.usage
		if p := e.Decide(w.snap()); p.Hooks != tc.want {
			t.Fatalf("%s: hooks %v; want %v (%+v)", tc.name, p.Hooks, tc.want, p)
		}
	}
}

func TestCgroupFSThrottlesAndRestores(t *testing.T) {
	e, _ := New(mustConfig(t, twoClasses), knobMeans)
	w := &world{now: t0, rootUsage: 950 * mib, trigger: t0, highUsage: 500 * mib, lowUsage: 100 * mib, lowHigh: Max}
	p := e.Decide(w.snap())
	if !p.Contended || !p.Near || !p.Pressured["high"] {
		t.Fatalf("50 MiB free under a 100 MiB headroom, with a trigger: %+v", p)
	}
	want := "memqos/high/a: protect 524288000 (HIGH class high under pressure: protect its usage)\n" +
		"memqos/low/b: cap 104857600 (LOW class low: a HIGH class it yields to is under pressure: cap at usage 104857600, floor 67108864)"
	if got := writes(p); got != want {
		t.Fatalf("first plan:\n%s\nwant:\n%s", got, want)
	}
	w.apply(p)
	// LOW shrinks: the cap follows it down, never below the floor; LOW
	// grows back: the cap stays.
	for _, tc := range []struct{ usage, want uint64 }{{80 * mib, 80 * mib}, {40 * mib, 64 * mib}, {100 * mib, 64 * mib}} {
		w.lowUsage = tc.usage
		w.now = w.now.Add(100 * time.Millisecond)
		w.trigger = w.now
		w.apply(e.Decide(w.snap()))
		if w.lowHigh != tc.want {
			t.Fatalf("usage %d MiB: memory.high %d MiB; want %d", tc.usage/mib, w.lowHigh/mib, tc.want/mib)
		}
	}
	// HIGH grows: its protection follows.
	w.highUsage += 10 * mib
	w.now = w.now.Add(100 * time.Millisecond)
	if got := writes(e.Decide(w.snap())); !strings.Contains(got, "memqos/high/a: protect 534773760") {
		t.Fatalf("protection did not follow HIGH's usage: %s", got)
	}
	// No trigger for longer than hold, memory still contended: HIGH's
	// protection goes, and LOW's cap goes back up to its usage plus its
	// share of the free memory above HIGH's reserve (none: 50 MiB free,
	// half the 100 MiB headroom reserved).
	w.now = w.now.Add(2100 * time.Millisecond)
	p = e.Decide(w.snap())
	want = "memqos/high/a: unprotect (HIGH class high no longer under pressure)\n" +
		"memqos/low/b: cap 104857600 (LOW class low: memory is contended: cap at usage 104857600 plus its share of the free memory, floor 67108864)"
	if got := writes(p); got != want || p.Pressured["high"] {
		t.Fatalf("after hold:\n%s\nwant:\n%s", got, want)
	}
	w.apply(p)
	// 80 MiB free: LOW, the only LOW member, may take the 30 MiB above the
	// reserve; a raise under a step is not written.
	w.rootUsage, w.now = 920*mib, w.now.Add(100*time.Millisecond)
	if p = e.Decide(w.snap()); len(p.Intents) != 0 {
		t.Fatalf("raised the cap by less than a step: %s", writes(p))
	}
	// LOW shrinks, 40 MiB free: its cap follows it down to the floor.
	w.rootUsage, w.lowUsage, w.now = 960*mib, 60*mib, w.now.Add(100*time.Millisecond)
	p = e.Decide(w.snap())
	if got := writes(p); got != "memqos/low/b: cap 67108864 (LOW class low: memory is contended: cap at usage 62914560 plus its share of the free memory, floor 67108864)" {
		t.Fatalf("LOW shrank, 40 MiB free: %s", got)
	}
	w.apply(p)
	// HIGH frees memory, 300 MiB free: LOW may take what HIGH's reserve
	// does not need.
	w.rootUsage, w.now = 700*mib, w.now.Add(100*time.Millisecond)
	p = e.Decide(w.snap())
	if got := writes(p); got != "memqos/low/b: cap 325058560 (LOW class low: memory is contended: cap at usage 62914560 plus its share of the free memory, floor 67108864)" {
		t.Fatalf("300 MiB free: %s", got)
	}
	w.apply(p)
	// Contention over for longer than hold: LOW's memory.high goes back.
	w.rootUsage = 500 * mib
	w.now = w.now.Add(2100 * time.Millisecond)
	p = e.Decide(w.snap())
	want = "memqos/low/b: uncap (memory is no longer contended and no HIGH class that LOW class low yields to is under pressure)"
	if got := writes(p); got != want {
		t.Fatalf("after contention:\n%s\nwant:\n%s", got, want)
	}
	w.apply(p)
	if p = e.Decide(w.snap()); len(p.Intents) != 0 {
		t.Fatalf("restored twice: %s", writes(p))
	}
}

func TestFloor(t *testing.T) {
	e, _ := New(mustConfig(t, twoClasses), knobMeans)
	w := &world{now: t0, rootUsage: 990 * mib, trigger: t0, highUsage: 900 * mib, lowUsage: 10 * mib, lowHigh: 80 * mib}
	p := e.Decide(w.snap())
	if got := writes(p); !strings.Contains(got, "memqos/low/b: cap 67108864") {
		t.Fatalf("want memory.high at the 64 MiB floor: %s", got)
	}
	w.apply(p)
	w.now = w.now.Add(time.Second)
	if got := writes(e.Decide(w.snap())); strings.Contains(got, "low/b") {
		t.Fatalf("lowered again below the floor: %s", got)
	}
}

func TestPressureNeedsContention(t *testing.T) {
	e, _ := New(mustConfig(t, twoClasses), knobMeans)
	w := &world{now: t0, rootUsage: 100 * mib, trigger: t0, highUsage: 50 * mib, lowUsage: 50 * mib, lowHigh: Max}
	if p := e.Decide(w.snap()); p.Pressured["high"] {
		t.Fatal("pressure without contention")
	}
	w.rootUsage, w.now = 950*mib, t0.Add(time.Second) // the trigger is still within hold
	if p := e.Decide(w.snap()); !p.Pressured["high"] {
		t.Fatal("no pressure with contention and a recent trigger")
	}
	// Once under pressure, it lasts Hold after the last trigger even if
	// contention eases: memqos undoes its actions only after Hold.
	w.rootUsage, w.now = 100*mib, t0.Add(1900*time.Millisecond)
	if p := e.Decide(w.snap()); !p.Pressured["high"] {
		t.Fatal("pressure ended before hold")
	}
	w.now = t0.Add(2100 * time.Millisecond)
	if p := e.Decide(w.snap()); p.Pressured["high"] {
		t.Fatal("pressure outlived hold")
	}
}

func TestYieldsTo(t *testing.T) {
	cfg := mustConfig(t, `
detector: {headroom: 0}
classes:
  - {name: h1, priority: high}
  - {name: h2, priority: high}
  - {name: l1, priority: low, yields_to: [h1]}
  - {name: l2, priority: low}
`)
	e, _ := New(cfg, knobMeans)
	s := Snapshot{Now: t0, Root: Memory{Usage: 10, Limit: 1000 * mib}, Classes: []ClassState{
		{Name: "h1"}, {Name: "h2", LastTrigger: t0},
		{Name: "l1", Members: []Member{{Path: "l1/x", Usage: 200 * mib, High: Max}}},
		{Name: "l2", Members: []Member{{Path: "l2/y", Usage: 200 * mib, High: Max}}},
	}}
	got := writes(e.Decide(s))
	if !strings.Contains(got, "l1/x: cap 734003195 (LOW class l1: memory is contended") ||
		!strings.Contains(got, "l2/y: cap 209715200 (LOW class l2: a HIGH class it yields to is under pressure") {
		t.Fatalf("contention caps l1 (yields to h1) at usage plus half the free memory; h2's pressure caps l2 (yields to all) at usage:\n%s", got)
	}
}

func TestEscalation(t *testing.T) {
	for _, tc := range []struct{ action, first, last string }{
		{"none", "lift", "unlift"}, {"freeze", "freeze", "thaw"}, {"kill", "kill", ""},
	} {
		t.Run(tc.action, func(t *testing.T) {
			doc := strings.Replace(twoClasses, "action: none", "action: "+tc.action, 1)
			e, _ := New(mustConfig(t, doc), knobMeans)
			w := &world{now: t0, rootUsage: 950 * mib, trigger: t0, highUsage: 500 * mib, lowUsage: 100 * mib, lowHigh: Max}
			var acted []Intent
			for i := 0; i < 60 && len(acted) == 0; i++ {
				p := e.Decide(w.snap())
				w.apply(p)
				acted = escalations(p)
				w.now = w.now.Add(100 * time.Millisecond)
				w.trigger = w.now
				w.lowMemStall += 90 * time.Millisecond // stalled 90% of the time
			}
			if len(acted) != 1 || string(acted[0].Kind) != tc.first || acted[0].Path != "memqos/low/b" {
				t.Fatalf("actions %+v; want one %s", acted, tc.first)
			}
			// Left alone while pressure lasts.
			if p := e.Decide(w.snap()); len(p.Intents) > 1 {
				t.Fatalf("escalated member acted on again: %+v", p)
			}
			w.now = w.now.Add(3 * time.Second)
			w.rootUsage = 500 * mib
			p := e.Decide(w.snap())
			var kinds []string
			for _, a := range escalations(p) {
				kinds = append(kinds, string(a.Kind))
			}
			if strings.Join(kinds, ",") != tc.last {
				t.Fatalf("after pressure: actions %v; want %q", kinds, tc.last)
			}
		})
	}
}

func TestProgressResetsDeadline(t *testing.T) {
	e, _ := New(mustConfig(t, twoClasses), knobMeans)
	w := &world{now: t0, rootUsage: 950 * mib, trigger: t0, highUsage: 500 * mib, lowUsage: 100 * mib, lowHigh: 100 * mib}
	for i := 0; i < 100; i++ {
		p := e.Decide(w.snap())
		if acted := escalations(p); len(acted) > 0 {
			t.Fatalf("tick %d: escalated a member that makes progress: %+v", i, acted)
		}
		w.now = w.now.Add(100 * time.Millisecond)
		w.trigger = w.now
		if i%10 != 9 {
			w.lowMemStall += 90 * time.Millisecond
		} // every tenth tick it runs freely
	}
}

func TestStructOpsDelay(t *testing.T) {
	e, _ := New(mustConfig(t, strings.Replace(twoClasses, "step: 32MiB", "step: 32MiB\n    delay: 100ms", 1)), kernelMeans)
	for _, tc := range []struct {
		free uint64
		want time.Duration
	}{
		{500 * mib, 0},                    // not contended
		{50 * mib, 50 * time.Millisecond}, // halfway into the headroom
		{0, 100 * time.Millisecond},       // at the limit
		{99 * mib, minDelay},              // barely contended: never below what the kernel honours
	} {
		p := e.Decide(Snapshot{Now: t0, Root: Memory{Usage: 1000*mib - tc.free, Limit: 1000 * mib}, Classes: []ClassState{{Name: "high"}, {Name: "low"}}})
		if got := p.Delay["low"]; got != tc.want {
			t.Errorf("free %d MiB: delay %v; want %v", tc.free/mib, got, tc.want)
		}
		if p.Arm["high"] != (tc.free < 100*mib) {
			t.Errorf("free %d MiB: armed %v", tc.free/mib, p.Arm["high"])
		}
		if len(p.Intents) > 0 {
			t.Errorf("structops wrote knobs: %s", writes(p))
		}
	}
	ref, _ := New(mustConfig(t, "policy: reference\nclasses:\n  - {name: h, priority: high}\n  - {name: l, priority: low}\n"), kernelMeans)
	p := ref.Decide(Snapshot{Now: t0, Root: Memory{Usage: 1, Limit: 1000 * mib}, Classes: []ClassState{{Name: "h"}, {Name: "l"}}})
	if p.Delay["l"] != 50*time.Millisecond || !p.Arm["h"] {
		t.Errorf("reference: delay %v armed %v; want 50ms, always armed", p.Delay["l"], p.Arm["h"])
	}
}

func TestGoneMembersAreForgotten(t *testing.T) {
	e, _ := New(mustConfig(t, twoClasses), knobMeans)
	w := &world{now: t0, rootUsage: 950 * mib, trigger: t0, highUsage: 500 * mib, lowUsage: 100 * mib, lowHigh: Max}
	w.apply(e.Decide(w.snap()))
	s := w.snap()
	s.Classes[0].Members, s.Classes[1].Members = nil, nil
	s.Now = s.Now.Add(5 * time.Second)
	if p := e.Decide(s); len(p.Intents) > 0 {
		t.Fatalf("acted on members that are gone: %+v", p)
	}
	if eng := e.(*Engine); len(eng.low)+len(eng.prot) > 0 {
		t.Fatalf("engine still remembers %d + %d members", len(eng.low), len(eng.prot))
	}
}

// TestReferenceNeedsTheKernel: the reference policy delays in the
// kernel; with knobs only it cannot run.
func TestReferenceNeedsTheKernel(t *testing.T) {
	ref := mustConfig(t, "policy: reference\nclasses:\n  - {name: h, priority: high}\n  - {name: l, priority: low}\n")
	if _, err := New(ref, knobMeans); err == nil {
		t.Fatal("the reference policy accepted a host without the charge delay")
	}
	p, err := New(ref, kernelMeans)
	if err != nil || p.Needs() != (Needs{}) {
		t.Fatalf("reference on memcg_bpf_ops: %v, needs %+v", err, p)
	}
	// The reference has no contention gate: its hooks stay in place.
	if plan := p.Decide(Snapshot{Now: t0, Root: Memory{Usage: 0, Limit: 1000 * mib}}); !plan.Hooks || !plan.Near {
		t.Fatalf("reference with all memory free: %+v; want hooks in place", plan)
	}
}

// TestStructOpsTHPFallback: with slow: delay, a LOW member with THP-backed
// memory is slowed with memory.high too, since the charge delay never
// reaches THP faults.
func TestStructOpsTHPFallback(t *testing.T) {
	e, _ := New(mustConfig(t, strings.Replace(twoClasses, "step: 32MiB", "step: 32MiB\n    slow: delay", 1)), kernelMeans)
	s := structOpsWorld()
	p := e.Decide(s)
	got := writes(p)
	if !strings.Contains(got, "thp: cap") || strings.Contains(got, "plain:") || strings.Contains(got, "h: protect") {
		t.Fatalf("want memory.high for the THP member only (structops protects HIGH in BPF):\n%s", got)
	}
	if p.Delay["low"] == 0 {
		t.Error("no delay programmed for the class")
	}
	s.Now = t0.Add(5 * time.Second)
	s.Root.Usage = 500 * mib
	if got := writes(e.Decide(s)); got != "thp: uncap (memory is no longer contended and no HIGH class that LOW class low yields to is under pressure)" {
		t.Fatalf("after pressure: %q", got)
	}
}

// structOpsWorld is a contended root with a pressured HIGH member and two
// LOW members, one of them with THP-backed memory.
func structOpsWorld() Snapshot {
	return Snapshot{Now: t0, Root: Memory{Usage: 950 * mib, Limit: 1000 * mib}, Classes: []ClassState{
		{Name: "high", LastTrigger: t0, Members: []Member{{Path: "h", Usage: 500 * mib, High: Max}}},
		{Name: "low", Members: []Member{
			{Path: "thp", Usage: 200 * mib, High: Max, AnonTHP: 64 * mib},
			{Path: "plain", Usage: 200 * mib, High: Max},
		}},
	}}
}

// TestStructOpsSlowsWithBoth: by default, structops slows LOW with the
// charge delay and with memory.high, so that a LOW member that keeps
// growing is throttled by the kernel before the parent's limit OOM-kills
// it; slow: high programs no delay.
func TestStructOpsSlowsWithBoth(t *testing.T) {
	e, _ := New(mustConfig(t, twoClasses), kernelMeans)
	p := e.Decide(structOpsWorld())
	got := writes(p)
	if !strings.Contains(got, "thp: cap") || !strings.Contains(got, "plain: cap") || strings.Contains(got, "h: protect") {
		t.Errorf("want memory.high for both LOW members, and no memory.low (BPF protects HIGH):\n%s", got)
	}
	if p.Delay["low"] == 0 {
		t.Error("no delay programmed for the class")
	}
	high, _ := New(mustConfig(t, strings.Replace(twoClasses, "step: 32MiB", "step: 32MiB\n    slow: high", 1)), kernelMeans)
	if p := high.Decide(structOpsWorld()); p.Delay["low"] != 0 || !strings.Contains(writes(p), "plain: cap") {
		t.Errorf("slow: high: delay %v, writes %s", p.Delay["low"], writes(p))
	}
}

// TestProtectionNeverLowersReservation gives HIGH a memory.low of its own
// (podman's --memory-reservation): memqos leaves it alone while it covers
// HIGH's usage, and raises protection above it once usage passes it.
func TestProtectionNeverLowersReservation(t *testing.T) {
	e, _ := New(mustConfig(t, twoClasses), knobMeans)
	w := &world{now: t0, rootUsage: 950 * mib, trigger: t0, highUsage: 500 * mib, highReserve: 600 * mib, lowUsage: 100 * mib, lowHigh: Max}
	p := e.Decide(w.snap())
	if !p.Pressured["high"] || strings.Contains(writes(p), "protect") {
		t.Fatalf("a reservation of 600 MiB over 500 MiB of usage was touched:\n%s", writes(p))
	}
	w.highUsage = 650 * mib
	w.now = w.now.Add(100 * time.Millisecond)
	w.trigger = w.now
	if got := writes(e.Decide(w.snap())); !strings.Contains(got, "memqos/high/a: protect 681574400") {
		t.Fatalf("usage past the reservation is not protected:\n%s", got)
	}
}

// TestReserveHighGrowth: with reserve high_growth, the free memory kept for
// HIGH follows how fast HIGH grew over the last hold: a flat HIGH leaves
// LOW all but 1 % of the limit, a HIGH that grows fast keeps half the
// headroom, as half_headroom always does.
func TestReserveHighGrowth(t *testing.T) {
	capAfter := func(reserve string, highGrowth uint64) uint64 {
		t.Helper()
		e := newEngine(mustConfig(t, strings.Replace(twoClasses, "headroom: 100MiB}", "headroom: 100MiB, reserve: "+reserve+"}", 1)), Means{})
		// 60 MiB free, below the 100 MiB headroom: contended.
		w := &world{now: t0, rootUsage: 940 * mib, highUsage: 300 * mib, lowUsage: 400 * mib, lowHigh: Max}
		var p Plan
		for i := 0; i < 5; i++ {
			w.now = w.now.Add(100 * time.Millisecond)
			w.highUsage += highGrowth
			p = e.Decide(w.snap())
		}
		for _, in := range p.Intents {
			if in.Kind == Cap {
				return in.Bytes
			}
		}
		t.Fatalf("reserve %s: no cap in %s", reserve, writes(p))
		return 0
	}
	// half_headroom: 400 MiB + (60 − 50) MiB, whatever HIGH does.
	if got := capAfter("half_headroom", 0); got != 410*mib {
		t.Errorf("half_headroom: cap %d MiB, want 410", got/mib)
	}
	// A flat HIGH: the reserve is 1 % of the limit, 10 MiB.
	if got := capAfter("high_growth", 0); got != 450*mib {
		t.Errorf("high_growth, flat HIGH: cap %d MiB, want 450", got/mib)
	}
	// HIGH growing 10 MiB per 100 ms: 20 MiB per 200 ms.
	if got := capAfter("high_growth", 10*mib); got != 440*mib {
		t.Errorf("high_growth, HIGH +100 MiB/s: cap %d MiB, want 440", got/mib)
	}
	// HIGH growing 40 MiB per 100 ms: 80 MiB, more than half the headroom.
	if got := capAfter("high_growth", 40*mib); got != 410*mib {
		t.Errorf("high_growth, HIGH +400 MiB/s: cap %d MiB, want 410 (half the headroom at most)", got/mib)
	}
}
