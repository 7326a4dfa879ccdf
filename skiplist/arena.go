package skiplist

import (
	"errors"
	"math"
	"sync/atomic"
	"unsafe"

	"github.com/stratadb/strata/internal/release"
)

// ErrArenaFull is returned by Add when the arena cannot hold the new entry.
var ErrArenaFull = errors.New("skiplist: arena full")

const (
	// nodeAlign is the alignment of node headers: they start with a uint64.
	nodeAlign = 8
	// cacheLine is the size the node allocator keeps small nodes within, so that visiting a node
	// during a search touches one cache line.
	cacheLine = 64
	// arenaStart is the first offset handed out; offset 0 is the nil link.
	arenaStart = cacheLine
	// MaxArenaSize bounds capacity so that every offset, plus the padding, fits a uint32.
	MaxArenaSize = math.MaxUint32 - int(maxNodeSize) - arenaStart
)

// Arena is a fixed-size region that nodes, keys and values are carved from. Node headers are
// allocated upwards from the start and key/value data downwards from the end, so the headers a
// search walks through sit densely together, away from the values it never reads. Only the
// list's writer allocates; Size may be read from any goroutine.
type Arena struct {
	buf  []byte
	base unsafe.Pointer // &buf[0]
	low  uint32         // next free byte for nodes; only the writer changes it
	high uint32         // data occupies [high, end); only the writer changes it
	used uint32         // bytes allocated, published for Size by publishSize; read atomically
	end  uint32         // end of usable space; buf has maxNodeSize more so a node cast near it stays in buf
}

// NewArena returns an arena that can hold capacity bytes of nodes, keys and values. capacity is
// clamped to [1 KiB, MaxArenaSize].
func NewArena(capacity int) *Arena {
	capacity = max(capacity, 1024)
	capacity = min(capacity, MaxArenaSize)
	end := uint32(arenaStart + capacity)
	a := &Arena{buf: make([]byte, int(end)+int(maxNodeSize)), low: arenaStart, high: end, end: end}
	a.base = unsafe.Pointer(&a.buf[0])
	a.publishSize()
	return a
}

// Size returns the number of bytes allocated so far (as of the last completed Add).
func (a *Arena) Size() int { return int(atomic.LoadUint32(&a.used)) }

// publishSize makes the writer's allocations visible to Size: one store per Add rather than one
// per allocation.
func (a *Arena) publishSize() { release.Store32(&a.used, (a.low-arenaStart)+(a.end-a.high)) }

// Capacity returns the number of bytes the arena can hold.
func (a *Arena) Capacity() int { return int(a.end - arenaStart) }

// allocNode reserves size bytes for a node header, 8-byte aligned and, when size allows, within
// one cache line. It returns false when the arena is full.
func (a *Arena) allocNode(size uint32) (uint32, bool) {
	off := (uint64(a.low) + nodeAlign - 1) &^ (nodeAlign - 1)
	if size <= cacheLine && off%cacheLine+uint64(size) > cacheLine {
		off = (off + cacheLine - 1) &^ (cacheLine - 1)
	}
	end := off + uint64(size)
	if end > uint64(a.high) {
		return 0, false
	}
	a.low = uint32(end)
	return uint32(off), true
}

// allocData reserves size bytes for key and value data, unaligned. It returns false when the
// arena is full.
func (a *Arena) allocData(size uint64) (uint32, bool) {
	if size > uint64(a.high-a.low) {
		return 0, false
	}
	a.high -= uint32(size)
	return a.high, true
}

// room reports whether a node header of nodeSize bytes and dataSize bytes of data fit, counting
// the worst-case alignment padding of the header.
func (a *Arena) room(nodeSize uint32, dataSize uint64) bool {
	return uint64(nodeSize)+cacheLine+dataSize <= uint64(a.high-a.low)
}

// node returns the node at off. off must be an offset returned by allocNode.
func (a *Arena) node(off uint32) *node {
	return (*node)(unsafe.Add(a.base, off))
}

// bytes returns the n bytes at off, capped so appends cannot spill into the arena.
func (a *Arena) bytes(off, n uint32) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(a.base, off)), n)[:n:n]
}
