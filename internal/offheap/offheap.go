// Package offheap hands out large byte buffers outside the Go heap: anonymous private mappings
// where the system has them, ordinary slices elsewhere. The garbage collector neither scans
// such a buffer nor counts it in the heap whose growth paces collections, so a program holding
// hundreds of megabytes of them does not let its garbage grow by as much again; its pages
// become resident as they are first written (in huge pages, on Linux, for a large buffer), and
// return to the system when it is freed.
//
// The invariant: a Buffer from Alloc is freed exactly once, by its owner, after the last use
// of any slice of it; a use after Free faults.
package offheap

// A Buffer is memory from Alloc.
type Buffer struct {
	b      []byte
	mapped bool
}

// Alloc returns a buffer of n zero bytes, outside the Go heap where the system allows it (see
// Mapped). n must be positive.
func Alloc(n int) Buffer {
	if b, ok := mapAnon(n); ok {
		adviseHuge(b)
		return Buffer{b: b, mapped: true}
	}
	return Buffer{b: make([]byte, n)}
}

// Bytes returns the buffer's memory; nil once freed.
func (m Buffer) Bytes() []byte { return m.b }

// Mapped reports whether the memory lies outside the Go heap.
func (m Buffer) Mapped() bool { return m.mapped }

// Free returns the memory to the system (or to the collector, for a slice of the heap). It must
// be called once, when nothing uses the memory any more.
func (m *Buffer) Free() {
	if m.mapped && m.b != nil {
		unmapAnon(m.b)
	}
	m.b, m.mapped = nil, false
}
