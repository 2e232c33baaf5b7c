package replay

import (
	"errors"
	"fmt"
	"math"

	"golang.org/x/sys/unix"
)

// ChunkSize is the size of each anonymous mapping of the worker: a
// multiple of the 2 MiB huge page, small enough that the partly used last
// chunk is cheap to trim.
const ChunkSize = 4 << 20

// ErrTargetRange means a target does not fit in an int64 byte count.
var ErrTargetRange = errors.New("target out of range")

// Target returns the footprint for a sample: its total plus the base, both
// in bytes. It fails with ErrTargetRange if either is negative or the sum
// overflows.
func Target(total, base int64) (int64, error) {
	if total < 0 || base < 0 || total > math.MaxInt64-base {
		return 0, fmt.Errorf("%w: %d + %d bytes", ErrTargetRange, total, base)
	}
	return total + base, nil
}

// Pages returns the number of pages that hold bytes: rounded up, so that
// pages·pageSize is never below bytes.
func Pages(bytes, pageSize int64) int64 {
	return (bytes + pageSize - 1) / pageSize
}

// opKind is what one step of a resize does.
type opKind int

const (
	opMap     opKind = iota // map chunk Chunk
	opTouch                 // write-fault pages [From, To) of Chunk in (populate)
	opRelease               // MADV_DONTNEED pages [From, To) of Chunk
	opUnmap                 // unmap chunk Chunk
)

// op is one step of a resize. Page indices are within the chunk.
type op struct {
	Kind     opKind
	Chunk    int64
	From, To int64
}

// chunks returns how many chunks hold pages pages.
func chunks(pages, chunkPages int64) int64 { return Pages(pages, chunkPages) }

// plan returns the steps that take a footprint of have pages to want
// pages, with chunkPages pages per chunk. Pages [0, n) of the footprint
// live in chunks [0, chunks(n)); chunks above are not mapped.
func plan(have, want, chunkPages int64) []op {
	if want > have {
		return planGrow(have, want, chunkPages)
	}
	return planShrink(have, want, chunkPages)
}

func planGrow(have, want, chunkPages int64) []op {
	var ops []op
	for c := have / chunkPages; c*chunkPages < want; c++ {
		if c >= chunks(have, chunkPages) {
			ops = append(ops, op{Kind: opMap, Chunk: c})
		}
		from := max(have-c*chunkPages, 0)
		to := min(want-c*chunkPages, chunkPages)
		ops = append(ops, op{Kind: opTouch, Chunk: c, From: from, To: to})
	}
	return ops
}

func planShrink(have, want, chunkPages int64) []op {
	var ops []op
	for c := chunks(have, chunkPages) - 1; c >= chunks(want, chunkPages); c-- {
		ops = append(ops, op{Kind: opUnmap, Chunk: c})
	}
	if c := want / chunkPages; want%chunkPages != 0 && want < have {
		to := min(have-c*chunkPages, chunkPages)
		ops = append(ops, op{Kind: opRelease, Chunk: c, From: want % chunkPages, To: to})
	}
	return ops
}

// Footprint is anonymous memory of a chosen size, every page touched. It
// is not safe for concurrent use.
type Footprint struct {
	pageSize   int64
	chunkPages int64
	chunks     [][]byte
	pages      int64
	peak       int64
}

// NewFootprint returns an empty footprint with the system's page size.
func NewFootprint() *Footprint {
	ps := int64(unix.Getpagesize())
	return &Footprint{pageSize: ps, chunkPages: ChunkSize / ps}
}

// PageSize returns the page size in bytes.
func (f *Footprint) PageSize() int64 { return f.pageSize }

// Bytes returns the bytes held: the touched pages times the page size.
func (f *Footprint) Bytes() int64 { return f.pages * f.pageSize }

// Peak returns the largest Bytes so far.
func (f *Footprint) Peak() int64 { return f.peak }

// Resize makes the footprint target bytes, rounded up to whole pages.
func (f *Footprint) Resize(target int64) error {
	if target < 0 {
		return fmt.Errorf("resize to %d bytes: %w", target, ErrTargetRange)
	}
	want := Pages(target, f.pageSize)
	for _, o := range plan(f.pages, want, f.chunkPages) {
		if err := f.apply(o); err != nil {
			return fmt.Errorf("resize from %d to %d bytes: %w", f.Bytes(), target, err)
		}
	}
	f.pages = want
	f.peak = max(f.peak, f.Bytes())
	return nil
}

func (f *Footprint) apply(o op) error {
	switch o.Kind {
	case opMap:
		b, err := unix.Mmap(-1, 0, ChunkSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			return fmt.Errorf("mmap chunk %d: %w", o.Chunk, err)
		}
		f.chunks = append(f.chunks, b)
	case opTouch:
		populate(f.chunks[o.Chunk][o.From*f.pageSize:o.To*f.pageSize], f.pageSize)
	case opRelease:
		b := f.chunks[o.Chunk][o.From*f.pageSize : o.To*f.pageSize]
		if err := unix.Madvise(b, unix.MADV_DONTNEED); err != nil {
			return fmt.Errorf("madvise chunk %d pages [%d, %d): %w", o.Chunk, o.From, o.To, err)
		}
	case opUnmap:
		last := len(f.chunks) - 1
		if err := unix.Munmap(f.chunks[last]); err != nil {
			return fmt.Errorf("munmap chunk %d: %w", o.Chunk, err)
		}
		f.chunks = f.chunks[:last]
	}
	return nil
}

// populate write-faults every page of b in, as touching each page would:
// with MADV_POPULATE_WRITE (Linux 5.14+) the kernel faults the pages in
// one call, charging them as page faults do, without a trap per page
// (which dominates under qemu's TCG). Older kernels get a write per page.
func populate(b []byte, pageSize int64) {
	if len(b) == 0 || unix.Madvise(b, unix.MADV_POPULATE_WRITE) == nil {
		return
	}
	for off := int64(0); off < int64(len(b)); off += pageSize {
		b[off] = 1
	}
}

// Close unmaps all the memory.
func (f *Footprint) Close() error {
	var errs []error
	for i, b := range f.chunks {
		if err := unix.Munmap(b); err != nil {
			errs = append(errs, fmt.Errorf("munmap chunk %d: %w", i, err))
		}
	}
	f.chunks, f.pages = nil, 0
	return errors.Join(errs...)
}
