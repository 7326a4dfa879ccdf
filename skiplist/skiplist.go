package skiplist

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"sync/atomic"
)

// ErrExists is returned by Add when an entry with the same key and tag is already present.
var ErrExists = errors.New("skiplist: entry exists")

// List is the skiplist. See the package documentation for its contract.
type List struct {
	arena  *Arena
	cmp    func(a, b []byte) int // nil means bytes.Compare, called directly
	head   uint32
	height atomic.Uint32 // height of the tallest node; only the writer raises it
	count  atomic.Int64
	rnd    uint64                                 // xorshift state for tower heights; writer only
	randH  func() uint32                          // overrides randomHeight in tests
	splice [MaxHeight]struct{ prev, next uint32 } // writer's scratch for Add
}

// New returns an empty list that allocates from arena and orders keys with cmp (nil for
// bytes.Compare). The arena should be fresh; New takes its first bytes for the head node.
func New(arena *Arena, cmp func(a, b []byte) int) *List {
	l := &List{arena: arena, cmp: cmp, rnd: 0x9e3779b97f4a7c15}
	head, ok := arena.alloc(uint64(maxNodeSize))
	if !ok {
		panic("skiplist: arena too small for the head node") // NewArena guarantees room
	}
	h := arena.node(head)
	h.keyOff = head + maxNodeSize // an empty key at the end of the head
	l.head = head
	l.height.Store(1)
	return l
}

// Arena returns the arena the list allocates from.
func (l *List) Arena() *Arena { return l.arena }

// Len returns the number of entries.
func (l *List) Len() int { return int(l.count.Load()) }

// Height returns the height of the tallest tower, for tests and statistics.
func (l *List) Height() int { return int(l.height.Load()) }

func (l *List) compare(a, b []byte) int {
	if l.cmp == nil {
		return compareBytewise(a, b)
	}
	return l.cmp(a, b)
}

// compareBytewise is bytes.Compare with a fast path: when both keys have eight bytes, their
// first eight bytes read as big-endian integers order the keys unless they are equal, which
// settles almost every comparison of distinct keys without a function call.
func compareBytewise(a, b []byte) int {
	if len(a) >= 8 && len(b) >= 8 {
		x, y := binary.BigEndian.Uint64(a), binary.BigEndian.Uint64(b)
		if x < y {
			return -1
		}
		if x > y {
			return 1
		}
	}
	return bytes.Compare(a, b)
}

// compareNode orders the entry at n against (key, tag): negative when the entry sorts first.
func (l *List) compareNode(n *node, key []byte, tag uint64) int {
	if c := l.compare(l.arena.key(n), key); c != 0 {
		return c
	}
	switch t := l.arena.tag(n); {
	case t > tag:
		return -1
	case t < tag:
		return 1
	}
	return 0
}

// EntrySize returns the arena bytes an entry of the given sizes takes at most, so a caller can
// check that a batch fits before adding any of it.
func EntrySize(keyLen, valueLen int) int {
	return int(maxNodeSize) + keyLen + tagLen + valueLen + nodeAlign
}

// Add inserts (key, tag, value), copying key and value into the arena. It returns ErrExists if
// an entry with the same key and tag is present and ErrArenaFull if the arena cannot hold the
// entry; in both cases the list is unchanged. Add must not be called concurrently with itself.
func (l *List) Add(key []byte, tag uint64, value []byte) error {
	if uint64(len(key))+uint64(len(value)) > math.MaxUint32 {
		return ErrArenaFull
	}
	if l.findSplice(key, tag) {
		return ErrExists
	}
	height := l.randomHeight()
	towerSize := nodeHeaderSize + height*4
	off, ok := l.arena.alloc(uint64(towerSize) + uint64(len(key)) + tagLen + uint64(len(value)))
	if !ok {
		return ErrArenaFull
	}
	n := l.arena.node(off)
	n.keyOff = off + towerSize
	n.keySize = uint32(len(key))
	n.valSize = uint32(len(value))
	copy(l.arena.bytes(n.keyOff, n.keySize), key)
	binary.LittleEndian.PutUint64(l.arena.bytes(n.keyOff+n.keySize, tagLen), tag)
	copy(l.arena.bytes(n.keyOff+n.keySize+tagLen, n.valSize), value)

	listHeight := l.height.Load()
	for i := listHeight; i < height; i++ {
		// Above the old top the only predecessor is the head and there is no successor.
		l.splice[i].prev, l.splice[i].next = l.head, 0
	}
	if height > listHeight {
		l.height.Store(height)
	}
	for i := uint32(0); i < height; i++ {
		n.setNext(int(i), l.splice[i].next)
	}
	n.storePrev(l.splice[0].prev)
	// Publish bottom-up: once the node is on level 0 every reader may find it, and each upper
	// level only shortcuts to a node already reachable below.
	for i := uint32(0); i < height; i++ {
		l.arena.node(l.splice[i].prev).setNext(int(i), off)
	}
	if succ := l.splice[0].next; succ != 0 {
		l.arena.node(succ).storePrev(off)
	}
	l.count.Add(1)
	return nil
}

// findSplice fills l.splice with, at each level, the last node before (key, tag) and the first
// node at or after it. It reports whether an entry equal to (key, tag) exists.
func (l *List) findSplice(key []byte, tag uint64) (found bool) {
	x := l.head
	var known uint32 // a node already compared and found >= the target
	for level := int(l.height.Load()) - 1; level >= 0; level-- {
		next := l.arena.node(x).next(level)
		for next != 0 && next != known {
			c := l.compareNode(l.arena.node(next), key, tag)
			if c >= 0 {
				found = found || c == 0
				known = next
				break
			}
			x = next
			next = l.arena.node(x).next(level)
		}
		l.splice[level].prev, l.splice[level].next = x, next
	}
	return found
}

// seek returns the first node at or after (key, tag) and the last node before it (the head when
// there is none), reading concurrently with the writer.
func (l *List) seek(key []byte, tag uint64) (prev, next uint32) {
	x := l.head
	var known uint32
	for level := int(l.height.Load()) - 1; level >= 0; level-- {
		next = l.arena.node(x).next(level)
		for next != 0 && next != known {
			if l.compareNode(l.arena.node(next), key, tag) >= 0 {
				known = next
				break
			}
			x = next
			next = l.arena.node(x).next(level)
		}
	}
	return x, next
}

// Contains reports whether an entry with exactly this key and tag is present.
func (l *List) Contains(key []byte, tag uint64) bool {
	_, n := l.seek(key, tag)
	return n != 0 && l.compareNode(l.arena.node(n), key, tag) == 0
}

// randomHeight draws a tower height: 1 with probability 3/4, each further level with 1/4.
func (l *List) randomHeight() uint32 {
	if l.randH != nil {
		return l.randH()
	}
	l.rnd ^= l.rnd << 13
	l.rnd ^= l.rnd >> 7
	l.rnd ^= l.rnd << 17
	r := uint32(l.rnd >> 32)
	h := uint32(1)
	for h < MaxHeight && r&3 == 0 {
		h++
		r >>= 2
	}
	return h
}
