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
//	value length (4 bytes LE) | key | tag (8 bytes LE) | value
//
// Only height links are allocated, so the tower array below is a view: entries past the node's
// height belong to the next allocation and must never be touched. A node of height 1 takes 32
// bytes, two to a cache line.
type node struct {
	// prefix holds the key's first sixteen bytes, zero-padded, read as two big-endian integers
	// (bytewise lists only; zero otherwise). For the bytewise order, unequal prefixes order their
	// keys the same way, and two keys of at most sixteen bytes with equal prefixes differ only in
	// length; so most comparisons of a search read nothing but node headers. Sixteen bytes, not
	// eight, because keys commonly share a leading run (a table name, zero padding of a number).
	prefix  [2]uint64
	keyOff  uint32 // arena offset of the key; the tag and then the value follow it
	keySize uint32
	prev    uint32 // level-0 predecessor (the head for the first node); written atomically
	tower   [MaxHeight]uint32
}

// prefixLen is the number of key bytes a node's prefix holds.
const prefixLen = 16

const (
	nodeHeaderSize = uint32(unsafe.Offsetof(node{}.tower))
	maxNodeSize    = uint32(unsafe.Sizeof(node{}))
)

// keyPrefix returns the first sixteen bytes of key, zero-padded, as two big-endian integers.
func keyPrefix(key []byte) [2]uint64 {
	if len(key) >= prefixLen {
		return [2]uint64{binary.BigEndian.Uint64(key), binary.BigEndian.Uint64(key[8:])}
	}
	var b [prefixLen]byte
	copy(b[:], key)
	return [2]uint64{binary.BigEndian.Uint64(b[:]), binary.BigEndian.Uint64(b[8:])}
}

// lenBytes is the size of the value length stored before each key.
const lenBytes = 4

func (n *node) next(level int) uint32 { return atomic.LoadUint32(&n.tower[level]) }

func (n *node) setNext(level int, off uint32) { publish32(&n.tower[level], off) }

func (n *node) loadPrev() uint32 { return atomic.LoadUint32(&n.prev) }

func (n *node) storePrev(off uint32) { publish32(&n.prev, off) }

// key returns the node's key without its tag.
func (a *Arena) key(n *node) []byte { return a.bytes(n.keyOff, n.keySize) }

// keyWithTag returns the key followed by its eight tag bytes.
func (a *Arena) keyWithTag(n *node) []byte { return a.bytes(n.keyOff, n.keySize+tagLen) }

// tag returns the node's tag.
func (a *Arena) tag(n *node) uint64 {
	return binary.LittleEndian.Uint64(a.bytes(n.keyOff+n.keySize, tagLen))
}

// value returns the node's value.
func (a *Arena) value(n *node) []byte {
	size := binary.LittleEndian.Uint32(a.bytes(n.keyOff-lenBytes, lenBytes))
	return a.bytes(n.keyOff+n.keySize+tagLen, size)
}
