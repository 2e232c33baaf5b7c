package replay

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestTarget(t *testing.T) {
	tests := []struct {
		name        string
		total, base int64
		want        int64
		err         error
	}{
		// Trace values are bytes, used exactly: a decimal 320.9 MB peak
		// plus a 100 MB (decimal) base, not MiB.
		{"dask peak", 320_900_000, 100_000_000, 420_900_000, nil},
		{"no base", 11_960_000, 0, 11_960_000, nil},
		{"zero", 0, 0, 0, nil},
		{"largest", math.MaxInt64 - 1, 1, math.MaxInt64, nil},
		{"overflow", math.MaxInt64, 1, 0, ErrTargetRange},
		{"negative total", -1, 0, 0, ErrTargetRange},
		{"negative base", 1, -1, 0, ErrTargetRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Target(tt.total, tt.base)
			if got != tt.want || !errors.Is(err, tt.err) {
				t.Errorf("Target(%d, %d) = %d, %v; want %d, %v", tt.total, tt.base, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestPagesNeverBelowTarget(t *testing.T) {
	tests := []struct{ bytes, pages int64 }{
		{0, 0}, {1, 1}, {4095, 1}, {4096, 1}, {4097, 2},
		{420_900_000, 102_759}, // 420 900 864 bytes: 864 above, less than a page
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.bytes), func(t *testing.T) {
			got := Pages(tt.bytes, 4096)
			if got != tt.pages || got*4096 < tt.bytes || (got > 0 && (got-1)*4096 >= tt.bytes) {
				t.Errorf("Pages(%d) = %d; want %d", tt.bytes, got, tt.pages)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	const cp = 4 // pages per chunk
	tests := []struct {
		name       string
		have, want int64
		ops        []op
	}{
		{"same", 6, 6, nil},
		{"grow from empty", 0, 6, []op{
			{opMap, 0, 0, 0}, {opTouch, 0, 0, 4}, {opMap, 1, 0, 0}, {opTouch, 1, 0, 2}}},
		{"grow within a chunk", 5, 7, []op{{opTouch, 1, 1, 3}}},
		{"grow from a chunk edge", 4, 5, []op{{opMap, 1, 0, 0}, {opTouch, 1, 0, 1}}},
		{"grow across chunks", 3, 9, []op{
			{opTouch, 0, 3, 4}, {opMap, 1, 0, 0}, {opTouch, 1, 0, 4}, {opMap, 2, 0, 0}, {opTouch, 2, 0, 1}}},
		{"shrink within a chunk", 7, 5, []op{{opRelease, 1, 1, 3}}},
		{"shrink to a chunk edge", 6, 4, []op{{opUnmap, 1, 0, 0}}},
		{"shrink across chunks", 11, 3, []op{
			{opUnmap, 2, 0, 0}, {opUnmap, 1, 0, 0}, {opRelease, 0, 3, 4}}},
		{"shrink to empty", 5, 0, []op{{opUnmap, 1, 0, 0}, {opUnmap, 0, 0, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plan(tt.have, tt.want, cp); !slices.Equal(got, tt.ops) {
				t.Errorf("plan(%d, %d) = %v; want %v", tt.have, tt.want, got, tt.ops)
			}
		})
	}
}

// model applies plans to a set of mapped chunks and touched pages.
type model struct {
	mapped  int64 // chunks [0, mapped) are mapped
	touched map[int64]bool
}

func (m *model) apply(t *testing.T, o op, cp int64) {
	t.Helper()
	switch o.Kind {
	case opMap:
		if o.Chunk != m.mapped {
			t.Fatalf("map chunk %d with %d mapped", o.Chunk, m.mapped)
		}
		m.mapped++
	case opUnmap:
		if o.Chunk != m.mapped-1 {
			t.Fatalf("unmap chunk %d with %d mapped", o.Chunk, m.mapped)
		}
		for p := o.Chunk * cp; p < (o.Chunk+1)*cp; p++ {
			delete(m.touched, p)
		}
		m.mapped--
	case opTouch, opRelease:
		if o.Chunk >= m.mapped || o.From >= o.To || o.To > cp {
			t.Fatalf("%v outside the %d mapped chunks", o, m.mapped)
		}
		for p := o.Chunk*cp + o.From; p < o.Chunk*cp+o.To; p++ {
			m.touched[p] = o.Kind == opTouch
			if o.Kind == opRelease {
				delete(m.touched, p)
			}
		}
	}
}

// TestPlanSequences replays every step between sizes 0…13 pages and
// checks that the footprint is exactly the wanted pages, in exactly the
// chunks that hold them.
func TestPlanSequences(t *testing.T) {
	const cp = 4
	sizes := []int64{0, 13, 1, 4, 5, 12, 8, 3, 0, 9, 9, 2, 7, 13, 0}
	for a := int64(0); a <= 13; a++ {
		for b := int64(0); b <= 13; b++ {
			sizes = append(sizes, a, b)
		}
	}
	m := &model{touched: map[int64]bool{}}
	var have int64
	for _, want := range sizes {
		for _, o := range plan(have, want, cp) {
			m.apply(t, o, cp)
		}
		if int64(len(m.touched)) != want || m.mapped != chunks(want, cp) {
			t.Fatalf("%d → %d pages: %d touched in %d chunks", have, want, len(m.touched), m.mapped)
		}
		for p := range want {
			if !m.touched[p] {
				t.Fatalf("%d → %d pages: page %d not touched", have, want, p)
			}
		}
		have = want
	}
}

// resident counts the resident pages of f with mincore.
func resident(t *testing.T, f *Footprint) int64 {
	t.Helper()
	var n int64
	for _, b := range f.chunks {
		vec := make([]byte, len(b)/int(f.pageSize))
		_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0])))
		if errno != 0 {
			t.Fatal(errno)
		}
		for _, v := range vec {
			n += int64(v & 1)
		}
	}
	return n
}

func TestFootprintResize(t *testing.T) {
	// Without THP every touched page is exactly one resident page.
	disableTHP(t)
	f := NewFootprint()
	defer f.Close()
	ps := f.PageSize()
	for _, target := range []int64{10_000_000, 3*ChunkSize + 5, 1, 0, 25_000_000, 9_999_999, ChunkSize} {
		if err := f.Resize(target); err != nil {
			t.Fatal(err)
		}
		want := Pages(target, ps)
		if f.Bytes() != want*ps || f.Bytes() < target {
			t.Errorf("Resize(%d): Bytes = %d; want %d", target, f.Bytes(), want*ps)
		}
		if got := resident(t, f); got != want {
			t.Errorf("Resize(%d): %d pages resident; want %d", target, got, want)
		}
		if int64(len(f.chunks)) != chunks(want, ChunkSize/ps) {
			t.Errorf("Resize(%d): %d chunks mapped", target, len(f.chunks))
		}
	}
	if f.Peak() != Pages(25_000_000, ps)*ps {
		t.Errorf("Peak = %d", f.Peak())
	}
	if err := f.Resize(-1); !errors.Is(err, ErrTargetRange) {
		t.Errorf("Resize(-1) = %v", err)
	}
}

// disableTHP disables transparent huge pages for the test binary until t
// ends. The setting belongs to the whole process and is inherited, so it
// must not outlive t: the worker children of later tests would inherit
// it, and a worker that ignores --no-thp would go unnoticed.
func disableTHP(t *testing.T) {
	t.Helper()
	restoreTHP(t)
	if err := unix.Prctl(unix.PR_SET_THP_DISABLE, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
}

// restoreTHP re-enables transparent huge pages for the test binary when t
// ends.
func restoreTHP(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		if err := unix.Prctl(unix.PR_SET_THP_DISABLE, 0, 0, 0, 0); err != nil {
			t.Errorf("re-enable THP: %v", err)
		}
	})
}
