package skiplist

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"sync/atomic"
	"unsafe"
)

// ErrExists is returned by Add when an entry with the same key and tag is already present.
var ErrExists = errors.New("skiplist: entry exists")

// List is the skiplist. See the package documentation for its contract.
type List struct {
	// count is the number of entries; only the writer changes it, readers load it atomically.
	// First, so that it is 8-byte aligned for atomic access on 32-bit platforms too.
	count  uint64
	arena  *Arena
	cmp    func(a, b []byte) int // nil means bytes.Compare, called directly
	head   uint32
	height atomic.Uint32 // height of the tallest node; only the writer raises it
	rnd    uint64        // xorshift state for tower heights; writer only
	randH  func() uint32 // overrides randomHeight in tests
	// splice is the writer's scratch for Add: per level, the node before the insert position
	// and the node after it. After an insert it describes the position just after the new
	// entry, which is where the next entry of an ascending run goes (see spliceFits).
	splice [MaxHeight]struct{ prev, next uint32 }
	// ascending reports that the last search-placed insert went in right after the entry added
	// before it, so the next insert is worth trying at the splice (see spliceFits). Random
	// inserts leave it false and skip that try, whose two comparisons would almost always fail.
	ascending bool
	touched   uint64 // sums searchBytewise's touching loads, so that the compiler keeps them
}

// New returns an empty list that allocates from arena and orders keys with cmp (nil for
// bytes.Compare). The arena must be fresh or Reset; New takes its first bytes for the head node.
func New(arena *Arena, cmp func(a, b []byte) int) *List {
	l := &List{arena: arena, cmp: cmp}
	l.init()
	return l
}

// init starts the list empty in its arena, which must be fresh or Reset.
func (l *List) init() {
	l.rnd = 0x9e3779b97f4a7c15
	head, ok := l.arena.allocNode(maxNodeSize, MaxHeight)
	if !ok {
		panic("skiplist: arena too small for the head node") // NewArena guarantees room
	}
	*l.arena.node(head) = node{} // a Reset arena holds old bytes; every other node is written whole
	l.head = head                // its key is empty and never compared
	l.arena.publishSize()
	l.height.Store(1)
}

// Reset empties the list and its arena for reuse, keeping the arena's memory (see Arena.Reset).
// Nothing may use the list or anything read from it afterwards: no reader, iterator or slice.
func (l *List) Reset() {
	l.arena.Reset()
	*l = List{arena: l.arena, cmp: l.cmp, randH: l.randH}
	l.init()
}

// Arena returns the arena the list allocates from.
func (l *List) Arena() *Arena { return l.arena }

// Len returns the number of entries.
func (l *List) Len() int { return int(atomic.LoadUint64(&l.count)) }

// Height returns the height of the tallest tower, for tests and statistics.
func (l *List) Height() int { return int(l.height.Load()) }

// cmpNode orders the entry at n against (key, tag): negative when the entry sorts first.
func (l *List) cmpNode(n *node, key []byte, tag uint64) int {
	if l.cmp == nil {
		want := keyPrefix(key)
		for i := range want {
			if n.prefix[i] != want[i] {
				if n.prefix[i] < want[i] {
					return -1
				}
				return 1
			}
		}
	}
	return l.cmpNodeSlow(n, key, tag)
}

// cmpNodeSlow is cmpNode without the prefix shortcut: a full comparison of key, then tag.
func (l *List) cmpNodeSlow(n *node, key []byte, tag uint64) int {
	var c int
	if l.cmp == nil {
		if n.keySize <= prefixLen && len(key) <= prefixLen && n.prefix == keyPrefix(key) {
			// Both keys lie wholly in their equal zero-padded prefixes: they differ at most in
			// length (trailing zero bytes), and the shorter sorts first. No need to read the key.
			c = int(n.keySize) - len(key)
		} else {
			c = bytes.Compare(l.arena.key(n), key)
		}
	} else {
		c = l.cmp(l.arena.key(n), key)
	}
	if c != 0 {
		return c
	}
	switch nt := l.arena.tag(n); {
	case nt > tag:
		return -1
	case nt < tag:
		return 1
	}
	return 0
}

// EntrySize returns the arena bytes an entry of the given sizes takes at most, so a caller can
// check that a batch fits before adding any of it.
func EntrySize(keyLen, valueLen int) int {
	return int(maxNodeSize) + cacheLine + lenBytes + keyLen + tagLen + valueLen
}

// Handle identifies an entry of a List, for indexes kept beside it (see Insert, KeyAt and
// Iterator.SetHandle). The zero Handle is no entry. A Handle stays valid for the List's life.
type Handle uint32

// Add inserts (key, tag, value), copying key and value into the arena. It returns ErrExists if
// an entry with the same key and tag is present and ErrArenaFull if the arena cannot hold the
// entry; in both cases the list is unchanged. Add must not be called concurrently with itself.
func (l *List) Add(key []byte, tag uint64, value []byte) error {
	_, err := l.Insert(key, tag, value)
	return err
}

// Insert is Add, returning the new entry's Handle.
func (l *List) Insert(key []byte, tag uint64, value []byte) (Handle, error) {
	return l.InsertWarming(key, tag, value, nil)
}

// InsertWarming is Insert, which also asks the CPU to fetch the cache line at warm once it has
// found where the entry goes and before it writes the entry, so that a caller that reads that
// line next (the memtable's hash index slot) finds it in cache: its miss overlaps the entry's
// writes instead of following them (-2% per insert at 1,000,000 entries, -6% at 30,000).
// warm may be nil; it is never read.
func (l *List) InsertWarming(key []byte, tag uint64, value []byte, warm unsafe.Pointer) (Handle, error) {
	if uint64(len(key))+uint64(len(value)) > math.MaxUint32 {
		return 0, ErrArenaFull
	}
	if !l.spliceFits(key, tag) {
		last := l.splice[0].prev // the entry added last, or 0 before the first search
		found := l.findSplice(key, tag)
		l.ascending = l.splice[0].prev == last
		if found {
			return 0, ErrExists
		}
	}
	if warm != nil {
		prefetchLine(warm)
	}
	height := l.randomHeight()
	nodeSize := nodeHeaderSize + height*4
	dataSize := lenBytes + uint64(len(key)) + tagLen + uint64(len(value))
	if !l.arena.room(nodeSize, dataSize) {
		return 0, ErrArenaFull
	}
	data, _ := l.arena.allocData(dataSize)
	off, _ := l.arena.allocNode(nodeSize, height)
	n := l.arena.node(off)
	if l.cmp == nil {
		n.prefix = keyPrefix(key)
	}
	n.keyOff = data + lenBytes
	n.keySize = uint32(len(key))
	binary.LittleEndian.PutUint32(l.arena.bytes(data, lenBytes), uint32(len(value)))
	copy(l.arena.bytes(n.keyOff, n.keySize), key)
	binary.LittleEndian.PutUint64(l.arena.bytes(n.keyOff+n.keySize, tagLen), tag)
	copy(l.arena.bytes(n.keyOff+n.keySize+tagLen, uint32(len(value))), value)

	listHeight := l.height.Load()
	for i := listHeight; i < height; i++ {
		// Above the old top the only predecessor is the head and there is no successor.
		l.splice[i].prev, l.splice[i].next = l.head, 0
	}
	if height > listHeight {
		l.height.Store(height)
	}
	// The node is not yet reachable: plain stores. Publishing it below is what needs atomics.
	for i := uint32(0); i < height; i++ {
		n.tower[i] = l.splice[i].next
	}
	n.prev = l.splice[0].prev
	// Publish bottom-up: once the node is on level 0 every reader may find it, and each upper
	// level only shortcuts to a node already reachable below.
	for i := uint32(0); i < height; i++ {
		l.arena.node(l.splice[i].prev).setNext(int(i), off)
	}
	if succ := l.splice[0].next; succ != 0 {
		l.arena.node(succ).storePrev(off)
	}
	// The position just after the new entry: the entry precedes it at its levels, the rest of
	// the splice is unchanged.
	for i := uint32(0); i < height; i++ {
		l.splice[i].prev = off
	}
	Publish64(&l.count, l.count+1) // one writer: a store, not a locked add
	l.arena.publishSize()
	return Handle(off), nil
}

// KeyAt returns the key of entry h, without its tag.
func (l *List) KeyAt(h Handle) []byte { return l.arena.key(l.arena.node(uint32(h))) }

// TagAt returns the tag of entry h.
func (l *List) TagAt(h Handle) uint64 { return l.arena.tag(l.arena.node(uint32(h))) }

// SameKey reports whether entry h's key is key, comparing the cached prefix in h's header first
// so that most mismatches never read the key itself. Only meaningful for the bytewise order.
func (l *List) SameKey(h Handle, key []byte) bool {
	n := l.arena.node(uint32(h))
	if int(n.keySize) != len(key) || n.prefix != keyPrefix(key) {
		return false
	}
	return len(key) <= prefixLen || string(l.arena.key(n)[prefixLen:]) == string(key[prefixLen:])
}

// spliceFits reports whether (key, tag) sorts strictly between the level-0 neighbours recorded
// in l.splice, in which case the whole splice is right for it: at every level the recorded
// predecessor sorts at or before the level-0 one and the recorded successor at or after the
// level-0 one. Keys added in ascending order (sequential loads, sorted batches) then skip the
// search: two comparisons with nodes in cache instead of a walk from the top.
func (l *List) spliceFits(key []byte, tag uint64) bool {
	if !l.ascending {
		return false
	}
	if p := l.splice[0].prev; p != l.head && l.cmpNode(l.arena.node(p), key, tag) >= 0 {
		return false
	}
	if nx := l.splice[0].next; nx != 0 && l.cmpNode(l.arena.node(nx), key, tag) <= 0 {
		return false
	}
	return true
}

// findSplice fills l.splice with, at each level, the last node before (key, tag) and the first
// node at or after it. It reports whether an entry equal to (key, tag) exists.
func (l *List) findSplice(key []byte, tag uint64) (found bool) {
	_, _, found = l.search(key, tag, &l.splice)
	return found
}

// seek returns the first node at or after (key, tag) and the last node before it (the head when
// there is none), reading concurrently with the writer.
func (l *List) seek(key []byte, tag uint64) (prev, next uint32) {
	prev, next, _ = l.search(key, tag, nil)
	return prev, next
}

// search descends from the top level to level 0, at each level moving right while the next node
// sorts before (key, tag). It returns the last node before the target and the first at or after
// it, reports whether that one equals the target, and records both per level in splice unless
// splice is nil.
func (l *List) search(key []byte, tag uint64, splice *[MaxHeight]struct{ prev, next uint32 }) (prev, next uint32, found bool) {
	if l.cmp == nil {
		return l.searchBytewise(key, tag, splice)
	}
	return l.searchCustom(key, tag, splice)
}

// searchBytewise is search for the bytewise order: the hot loop of every insert and lookup. It
// moves right while the next node's 16-byte prefix is below the target's, reading node headers
// only; such a node sorts before the target whatever its remaining bytes. Only a node whose
// prefix ties with the target's needs a full comparison, which is rare and kept outside the hot
// loop, so that the loop's state stays in registers and makes no calls. The search is a chain of
// dependent cache misses; at each node it also loads the node it would descend to, so that two
// misses are in flight at once (-10% per insert at 30,000 and 1,000,000 entries).
func (l *List) searchBytewise(key []byte, tag uint64, splice *[MaxHeight]struct{ prev, next uint32 }) (prev, next uint32, found bool) {
	base := l.arena.base
	w := keyPrefix(key)
	w0, w1 := w[0], w[1]
	x := l.head
	var touched uint64
	for level := int(l.height.Load()) - 1; level >= 0; level-- {
		xn := (*node)(unsafe.Add(base, x))
		nx := xn.next(level)
		if level > 0 {
			touched += (*node)(unsafe.Add(base, xn.next(level-1))).prefix[0] // see below
		}
		found = false
		for {
			for nx != 0 {
				n := (*node)(unsafe.Add(base, nx))
				if p := n.prefix[0]; p < w0 || p == w0 && n.prefix[1] < w1 {
					x, nx = nx, n.next(level)
					if level > 0 {
						// Touch the node the search goes on with one level down, should the
						// level end at x: its cache miss then overlaps nx's instead of
						// following it. A load the CPU need not wait for works as a prefetch.
						touched += (*node)(unsafe.Add(base, n.next(level-1))).prefix[0]
					}
					continue
				}
				break
			}
			if nx == 0 {
				break
			}
			n := (*node)(unsafe.Add(base, nx))
			if n.prefix[0] != w0 || n.prefix[1] != w1 {
				break // the prefix sorts after the target's
			}
			c := l.cmpNodeSlow(n, key, tag)
			if c < 0 {
				x, nx = nx, n.next(level)
				continue
			}
			found = c == 0
			break
		}
		if splice != nil {
			splice[level].prev, splice[level].next = x, nx
		}
		next = nx
	}
	if splice != nil {
		l.touched = touched // keeps the touching loads; only the writer passes a splice
	}
	return x, next, found
}

// searchCustom is search for a caller's compare function. A node found >= the target at one
// level is not compared again below, which saves calls of the compare function.
func (l *List) searchCustom(key []byte, tag uint64, splice *[MaxHeight]struct{ prev, next uint32 }) (prev, next uint32, found bool) {
	base := l.arena.base
	x := l.head
	var known uint32 // a node already compared and found >= the target
	for level := int(l.height.Load()) - 1; level >= 0; level-- {
		nx := (*node)(unsafe.Add(base, x)).next(level)
		for nx != 0 && nx != known {
			c := l.cmpNodeSlow((*node)(unsafe.Add(base, nx)), key, tag)
			if c >= 0 {
				found = found || c == 0
				known = nx
				break
			}
			x = nx
			nx = (*node)(unsafe.Add(base, x)).next(level)
		}
		if splice != nil {
			splice[level].prev, splice[level].next = x, nx
		}
		next = nx
	}
	return x, next, found
}

// Contains reports whether an entry with exactly this key and tag is present.
func (l *List) Contains(key []byte, tag uint64) bool {
	_, n := l.seek(key, tag)
	if n == 0 {
		return false
	}
	return l.cmpNodeSlow(l.arena.node(n), key, tag) == 0
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
