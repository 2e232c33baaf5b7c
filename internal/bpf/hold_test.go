package bpf_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/memqos/memqos/internal/bpf"
)

// tracefs is where the guests and most hosts mount it.
const tracefs = "/sys/kernel/tracing"

// pokeCounter counts the kernel's int3-based text patches (jump labels,
// static calls) with a kprobe on the function that queues each patch.
type pokeCounter struct{ name string }

func newPokeCounter(t *testing.T) *pokeCounter {
	t.Helper()
	if _, err := os.Stat(tracefs + "/kprobe_events"); err != nil {
		t.Skipf("no kprobe events in %s: %v", tracefs, err)
	}
	// smp_text_poke_batch_add since Linux 6.16; text_poke_queue before.
	for _, fn := range []string{"smp_text_poke_batch_add", "text_poke_queue"} {
		c := &pokeCounter{name: "memqos_test_" + fn}
		if appendFile(tracefs+"/kprobe_events", fmt.Sprintf("p:%s %s", c.name, fn)) != nil {
			continue
		}
		t.Cleanup(func() {
			os.WriteFile(tracefs+"/events/kprobes/"+c.name+"/enable", []byte("0"), 0o644)
			appendFile(tracefs+"/kprobe_events", "-:"+c.name)
		})
		if err := os.WriteFile(tracefs+"/events/kprobes/"+c.name+"/enable", []byte("1"), 0o644); err != nil {
			t.Fatal(err)
		}
		return c
	}
	t.Skip("no kprobe on the kernel's text patching (smp_text_poke_batch_add, text_poke_queue)")
	return nil
}

func appendFile(path, line string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(line + "\n")
	return errors.Join(err, f.Close())
}

// hits reads the kprobe's hit count from kprobe_profile.
func (c *pokeCounter) hits(t *testing.T) int {
	t.Helper()
	f, err := os.Open(tracefs + "/kprobe_profile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var name string
		var n, missed int
		if _, err := fmt.Sscan(sc.Text(), &name, &n, &missed); err == nil && name == c.name {
			return n
		}
	}
	t.Fatalf("%s not in kprobe_profile", c.name)
	return 0
}

// toggles attaches and detaches the detector's tracepoint probe n times
// and returns how many text patches that took.
func toggles(t *testing.T, d *bpf.Detector, c *pokeCounter, n int) int {
	t.Helper()
	before := c.hits(t)
	for range n {
		if err := d.SetAttached(false); err != nil {
			t.Fatal(err)
		}
		if err := d.SetAttached(true); err != nil {
			t.Fatal(err)
		}
	}
	return c.hits(t) - before
}

// TestHoldTracepointStopsTextPatching checks what HoldTracepoint is for:
// without it, the detector attaching and detaching its tracepoint probe
// patches kernel text; with it, not once.
func TestHoldTracepointStopsTextPatching(t *testing.T) {
	d := newDetector(t, refHigh(), refLow())
	c := newPokeCounter(t)
	if n := toggles(t, d, c, 5); n == 0 {
		t.Fatalf("5 toggles without a hold patched no text: the counter counts nothing")
	}
	h, err := bpf.HoldTracepoint()
	if err != nil {
		t.Fatal(err)
	}
	if n := toggles(t, d, c, 20); n != 0 {
		t.Errorf("20 toggles with %d probes held patched text %d times; want 0", bpf.HeldProbes, n)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}
