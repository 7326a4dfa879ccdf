package skiplist

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"
)

// MaxHeight is the tallest tower a node can have. With branching 1/4, twelve levels index
// 4^12 ≈ 16.7 million entries at full efficiency, far past what a memtable holds.
const MaxHeight = 12

// tagLen is the size of the tag stored after each key.
const tagLen = 8

// node is the header of an entry. Headers live in the low part of the arena; the entry's data
// lives in the high part as
//
//	key | tag (8 bytes LE) | value
//
// Only height links are allocated, so the tower array below is a view: entries past the node's
// height belong to the next allocation and must never be touched. A node of height 1 or 2 takes
// 32 bytes, two to a cache line.
type node struct {
	// prefix is the key's first eight bytes, zero-padded, read as a big-endian integer (bytewise
	// lists only; 0 otherwise). For the bytewise order, unequal prefixes order their keys the same
	// way, so most comparisons in a search never touch the key itself.
	prefix  uint64
	keyOff  uint32 // arena offset of the key; the tag and then the value follow it
	keySize uint32
	valSize uint32
	prev    uint32 // level-0 predecessor (the head for the first node); written atomically
	tower   [MaxHeight]uint32
}

const (
	nodeHeaderSize = uint32(unsafe.Offsetof(node{}.tower))
	maxNodeSize    = uint32(unsafe.Sizeof(node{}))
)

// keyPrefix returns the first eight bytes of key, zero-padded, as a big-endian integer.
func keyPrefix(key []byte) uint64 {
	if len(key) >= 8 {
		return binary.BigEndian.Uint64(key)
	}
	var b [8]byte
	copy(b[:], key)
	return binary.BigEndian.Uint64(b[:])
}

func (n *node) next(level int) uint32 { return atomic.LoadUint32(&n.tower[level]) }

func (n *node) setNext(level int, off uint32) { atomic.StoreUint32(&n.tower[level], off) }

func (n *node) loadPrev() uint32 { return atomic.LoadUint32(&n.prev) }

func (n *node) storePrev(off uint32) { atomic.StoreUint32(&n.prev, off) }

// key returns the node's key without its tag.
func (a *Arena) key(n *node) []byte { return a.bytes(n.keyOff, n.keySize) }

// keyWithTag returns the key followed by its eight tag bytes.
func (a *Arena) keyWithTag(n *node) []byte { return a.bytes(n.keyOff, n.keySize+tagLen) }

// tag returns the node's tag.
func (a *Arena) tag(n *node) uint64 {
	return binary.LittleEndian.Uint64(a.bytes(n.keyOff+n.keySize, tagLen))
}

// value returns the node's value.
func (a *Arena) value(n *node) []byte { return a.bytes(n.keyOff+n.keySize+tagLen, n.valSize) }
