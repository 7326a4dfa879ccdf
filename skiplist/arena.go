package skiplist

import (
	"errors"
	"math"
	"sync/atomic"
	"unsafe"

	"github.com/stratadb/strata/internal/offheap"
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
	// maxArenaEnd bounds the end of the arena's buffer: offsets are uint32s, and on 32-bit
	// platforms lengths are 31-bit ints.
	maxArenaEnd = min(math.MaxUint32, math.MaxInt)
	// MaxArenaSize bounds capacity so that every offset, plus the padding, fits a uint32 (and
	// the buffer's length an int).
	MaxArenaSize = maxArenaEnd - int(maxNodeSize) - arenaStart
	// tallShare sets the size of the region of tall nodes: 1/tallShare of the capacity. A node
	// is tall with probability 1/4 and takes about 48 bytes there, some 12 bytes per entry: an
	// eighth covers entries of about 100 bytes of key and value or more; with smaller entries
	// the region fills, and later tall nodes go with the short ones.
	tallShare = 8
)

// Arena is a fixed-size region that nodes, keys and values are carved from. Node headers are
// allocated upwards and key/value data downwards from the end, so the headers a search walks
// through sit densely together, away from the values it never reads. Nodes taller than one level
// go to a region of their own at the start, as long as it has room: the upper levels of a search
// visit only those, and packed apart from the short nodes they take a quarter of the cache
// lines (-5% per insert at 1,000,000 entries).
//
// Capacity is a budget: every allocation counts against it, wherever it is placed, so the tall
// region adds memory but never room for more entries, and Capacity-Size is always room that
// the rest of the arena really has. Only the list's writer allocates; Size may be read from any
// goroutine.
type Arena struct {
	buf  []byte
	base unsafe.Pointer // &buf[0]
	mem  offheap.Buffer // buf's memory outside the Go heap (NewMappedArena), or none
	// tallLow is the next free byte of the region of tall nodes, [arenaStart, tallEnd).
	tallLow, tallEnd uint32
	low              uint32 // next free byte for other nodes, from tallEnd on
	high             uint32 // data occupies [high, end)
	end              uint32 // end of usable space; buf has maxNodeSize more so a node cast near it stays in buf
	capacity         uint32
	spent            uint32 // bytes allocated, padding included; writer only
	used             uint32 // spent as of the last publishSize; read atomically
}

// NewArena returns an arena that can hold capacity bytes of nodes, keys and values. capacity is
// clamped to [1 KiB, MaxArenaSize].
func NewArena(capacity int) *Arena { return newArena(capacity, false) }

// NewMappedArena is NewArena with the memory outside the Go heap, in an anonymous mapping of its
// own (where the system has them; elsewhere it is NewArena): the garbage collector neither
// scans it nor counts it in the heap whose growth paces collections, so a program holding
// large arenas does not let its garbage grow by as much again. Its pages become resident as
// they are first written. The caller must call Free once nothing uses the arena any more;
// using it after Free faults.
func NewMappedArena(capacity int) *Arena { return newArena(capacity, true) }

func newArena(capacity int, mapped bool) *Arena {
	capacity = max(capacity, 1024)
	capacity = min(capacity, MaxArenaSize)
	tallEnd := (uint64(arenaStart) + uint64(capacity/tallShare) + cacheLine - 1) &^ (cacheLine - 1)
	end := tallEnd + uint64(capacity)
	if end > maxArenaEnd-uint64(maxNodeSize) {
		tallEnd = arenaStart // no room for the region in 32-bit offsets: no tall region
		end = tallEnd + uint64(capacity)
	}
	size := int(end) + int(maxNodeSize)
	var mem offheap.Buffer
	var buf []byte
	if mapped {
		mem = offheap.Alloc(size)
		buf = mem.Bytes()
	} else {
		buf = make([]byte, size)
	}
	a := &Arena{buf: buf, mem: mem, tallLow: arenaStart,
		tallEnd: uint32(tallEnd), low: uint32(tallEnd), high: uint32(end), end: uint32(end),
		capacity: uint32(capacity)}
	a.base = unsafe.Pointer(&a.buf[0])
	a.publishSize()
	return a
}

// Reset empties the arena for reuse without clearing its memory: a recycled arena's pages are
// already mapped, so filling it again costs no page faults (on some virtual machines a fault on a
// fresh page costs ten microseconds or more) and no zeroing. Nothing may use the arena's old
// contents afterwards: no list, iterator or slice of it may still be in use.
func (a *Arena) Reset() {
	tallEnd := a.tallEnd
	*a = Arena{buf: a.buf, base: a.base, mem: a.mem, tallLow: arenaStart, tallEnd: tallEnd, low: tallEnd,
		high: a.end, end: a.end, capacity: a.capacity}
	a.publishSize()
}

// Free returns a mapped arena's memory to the system (NewMappedArena); for an arena on the Go
// heap it does nothing. Nothing may use the arena afterwards.
func (a *Arena) Free() {
	if a.mem.Bytes() == nil {
		return
	}
	a.mem.Free()
	a.buf, a.base = nil, nil
}

// Size returns the number of bytes allocated so far (as of the last completed Add).
func (a *Arena) Size() int { return int(atomic.LoadUint32(&a.used)) }

// publishSize makes the writer's allocations visible to Size: one store per Add rather than one
// per allocation.
func (a *Arena) publishSize() { publish32(&a.used, a.spent) }

// Capacity returns the number of bytes the arena can hold.
func (a *Arena) Capacity() int { return int(a.capacity) }

// allocNode reserves size bytes for a node header of height levels, 8-byte aligned and, when size
// allows, within one cache line: in the tall region if the node is tall and the region has room.
// It returns false when the arena is full.
func (a *Arena) allocNode(size, height uint32) (uint32, bool) {
	if height > 1 {
		if off, end := placeNode(a.tallLow, size); end <= uint64(a.tallEnd) && a.charge(end-uint64(a.tallLow)) {
			a.tallLow = uint32(end)
			return uint32(off), true
		}
	}
	off, end := placeNode(a.low, size)
	if end > uint64(a.high) || !a.charge(end-uint64(a.low)) {
		return 0, false
	}
	a.low = uint32(end)
	return uint32(off), true
}

// placeNode returns where a node of size bytes goes at or after low: 8-byte aligned and, when
// size allows, within one cache line.
func placeNode(low, size uint32) (off, end uint64) {
	off = (uint64(low) + nodeAlign - 1) &^ (nodeAlign - 1)
	if size <= cacheLine && off%cacheLine+uint64(size) > cacheLine {
		off = (off + cacheLine - 1) &^ (cacheLine - 1)
	}
	return off, off + uint64(size)
}

// charge counts n bytes against the capacity, or reports false if they do not fit.
func (a *Arena) charge(n uint64) bool {
	if n > uint64(a.capacity-a.spent) {
		return false
	}
	a.spent += uint32(n)
	return true
}

// allocData reserves size bytes for key and value data, unaligned. It returns false when the
// arena is full.
func (a *Arena) allocData(size uint64) (uint32, bool) {
	if size > uint64(a.high-a.low) || !a.charge(size) {
		return 0, false
	}
	a.high -= uint32(size)
	return a.high, true
}

// room reports whether a node header of nodeSize bytes and dataSize bytes of data fit, counting
// the worst-case alignment padding of the header. Since the capacity counts every allocation and
// the space outside the tall region is the capacity itself, what the budget allows fits there.
func (a *Arena) room(nodeSize uint32, dataSize uint64) bool {
	return uint64(nodeSize)+cacheLine+dataSize <= uint64(a.capacity-a.spent)
}

// node returns the node at off. off must be an offset returned by allocNode.
func (a *Arena) node(off uint32) *node {
	return (*node)(unsafe.Add(a.base, off))
}

// bytes returns the n bytes at off, capped so appends cannot spill into the arena.
func (a *Arena) bytes(off, n uint32) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(a.base, off)), n)[:n:n]
}
