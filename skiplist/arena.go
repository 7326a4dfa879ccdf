package skiplist

import (
	"errors"
	"math"
	"sync/atomic"
	"unsafe"
)

// ErrArenaFull is returned by Add when the arena cannot hold the new entry.
var ErrArenaFull = errors.New("skiplist: arena full")

const (
	// nodeAlign is the alignment of every allocation: nodes hold uint32 fields read atomically.
	nodeAlign = 4
	// arenaStart is the first offset handed out; offset 0 is the nil link.
	arenaStart = 8
	// MaxArenaSize bounds capacity so that every offset, plus the padding, fits a uint32.
	MaxArenaSize = math.MaxUint32 - int(maxNodeSize) - arenaStart
)

// Arena is a fixed-size region that nodes, keys and values are carved from. Only the list's
// writer allocates; Size may be read from any goroutine.
type Arena struct {
	buf  []byte
	base unsafe.Pointer // &buf[0]
	used atomic.Uint32  // next free offset
	cap  uint32         // usable bytes; buf has maxNodeSize more so a node cast near the end stays inside buf
}

// NewArena returns an arena that can hold capacity bytes of nodes, keys and values. capacity is
// clamped to [1 KiB, MaxArenaSize].
func NewArena(capacity int) *Arena {
	capacity = max(capacity, 1024)
	capacity = min(capacity, MaxArenaSize)
	a := &Arena{buf: make([]byte, capacity+int(maxNodeSize)+arenaStart), cap: uint32(capacity + arenaStart)}
	a.base = unsafe.Pointer(&a.buf[0])
	a.used.Store(arenaStart)
	return a
}

// Size returns the number of bytes allocated so far.
func (a *Arena) Size() int { return int(a.used.Load()) }

// Capacity returns the number of bytes the arena can hold.
func (a *Arena) Capacity() int { return int(a.cap) }

// alloc reserves size bytes aligned to nodeAlign and returns their offset, or false when the
// arena is full.
func (a *Arena) alloc(size uint64) (uint32, bool) {
	off := uint64(a.used.Load())
	end := (off + size + nodeAlign - 1) &^ (nodeAlign - 1)
	if end > uint64(a.cap) {
		return 0, false
	}
	a.used.Store(uint32(end))
	return uint32(off), true
}

// node returns the node at off. off must be an offset returned by alloc for a node.
func (a *Arena) node(off uint32) *node {
	return (*node)(unsafe.Add(a.base, off))
}

// bytes returns the n bytes at off, capped so appends cannot spill into the arena.
func (a *Arena) bytes(off, n uint32) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(a.base, off)), n)[:n:n]
}
