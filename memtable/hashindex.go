package memtable

import (
	"sync/atomic"
	"unsafe"

	"github.com/cespare/xxhash/v2"

	"github.com/stratadb/strata/skiplist"
)

// hashIndex maps each user key to the skiplist entry holding its newest version, so that a Get
// costs a hash, a probe or two and one node visit instead of a search through the list (about 30
// dependent node visits for a few tens of thousands of entries). It is an open-addressing table
// with linear probing; each slot holds a 32-bit hash of the key beside the entry's handle, so a
// probe of another key is settled without visiting its node, and the table can be rebuilt at
// twice the size without reading any key. It serves only the bytewise order, where equal keys
// are equal bytes.
//
// Concurrency: one writer (MemTable.Add), any number of readers, no locks. A slot only goes from
// empty to an entry, then to newer versions of the same key, with atomic stores made after the
// entry is in the list. Growing builds a new table and publishes it with one atomic store; a
// reader keeps using the table it loaded, which holds everything added before it began. A reader
// that finds a key missing, or an older version of it, is one that began before the newer Add
// returned.
type hashIndex struct {
	tab   atomic.Pointer[hashTable]
	count int // distinct keys; writer only
}

type hashTable struct {
	slots []uint64 // hash<<32 | handle; 0 = empty; accessed atomically
	shift uint32   // 32 - log2(len(slots))
}

// A table grows when it would pass half full, so probes stay short. It starts sized for the
// arena filled with entries of typicalEntryArena bytes (a 16-byte key and a 100-byte value take
// about 160), so that a memtable of ordinary entries never rebuilds it; small entries make it grow.
const (
	minHashSlots      = 1024
	typicalEntryArena = 128
)

func newHashIndex(arenaCapacity int) *hashIndex {
	x := &hashIndex{}
	x.tab.Store(newHashTable(hashSlots(arenaCapacity)))
	return x
}

// reset empties the index of a table whose arena holds arenaCapacity bytes, clearing its slots
// in place unless the table has grown past its starting size.
func (x *hashIndex) reset(arenaCapacity int) {
	n := hashSlots(arenaCapacity)
	if t := x.tab.Load(); len(t.slots) == n {
		clear(t.slots)
	} else {
		x.tab.Store(newHashTable(n))
	}
	x.count = 0
}

// hashSlots is the starting number of slots for an arena of arenaCapacity bytes.
func hashSlots(arenaCapacity int) int {
	n := minHashSlots
	for n < 2*(arenaCapacity/typicalEntryArena) {
		n <<= 1
	}
	return n
}

func newHashTable(n int) *hashTable {
	shift := uint32(32)
	for m := n; m > 1; m >>= 1 {
		shift--
	}
	return &hashTable{slots: make([]uint64, n), shift: shift}
}

// homeSlot returns the address of the slot an insert of the key with hash h starts from, for
// skiplist.List.InsertWarming. Writer only.
func (x *hashIndex) homeSlot(h uint32) unsafe.Pointer {
	t := x.tab.Load()
	return unsafe.Pointer(&t.slots[t.home(h)])
}

func keyHash(key []byte) uint32 {
	h := uint32(xxhash.Sum64(key) >> 32)
	if h == 0 {
		h = 1 // keep 0 for empty slots even with handle 0 never stored
	}
	return h
}

// home returns the first slot to probe for hash h: Fibonacci hashing spreads all 32 bits of h
// over the table, so rebuilding needs only the stored hash.
func (t *hashTable) home(h uint32) uint32 { return (h * 0x9e3779b9) >> t.shift }

// insert records handle, the newest entry of key, whose keyHash is h. Writer only.
func (x *hashIndex) insert(l *skiplist.List, key []byte, h uint32, handle skiplist.Handle) {
	t := x.tab.Load()
	mask := uint32(len(t.slots) - 1)
	for i := t.home(h); ; i = (i + 1) & mask {
		s := atomic.LoadUint64(&t.slots[i])
		if s == 0 {
			if 2*(x.count+1) > len(t.slots) {
				t = x.grow(t)
				mask = uint32(len(t.slots) - 1)
				i = t.home(h) - 1 // probe the new table from the start
				continue
			}
			skiplist.Publish64(&t.slots[i], uint64(h)<<32|uint64(handle))
			x.count++
			return
		}
		if uint32(s>>32) == h && l.SameKey(skiplist.Handle(s), key) {
			skiplist.Publish64(&t.slots[i], uint64(h)<<32|uint64(handle))
			return
		}
	}
}

// grow publishes a table twice the size of t holding the same slots. Writer only.
func (x *hashIndex) grow(t *hashTable) *hashTable {
	nt := newHashTable(2 * len(t.slots))
	mask := uint32(len(nt.slots) - 1)
	for _, s := range t.slots {
		if s == 0 {
			continue
		}
		i := nt.home(uint32(s >> 32))
		for nt.slots[i] != 0 {
			i = (i + 1) & mask
		}
		nt.slots[i] = s
	}
	x.tab.Store(nt)
	return nt
}

// lookup returns the newest entry of key, or 0 when the index has none.
func (x *hashIndex) lookup(l *skiplist.List, key []byte) skiplist.Handle {
	h := keyHash(key)
	t := x.tab.Load()
	mask := uint32(len(t.slots) - 1)
	for i := t.home(h); ; i = (i + 1) & mask {
		s := atomic.LoadUint64(&t.slots[i])
		if s == 0 {
			return 0
		}
		if uint32(s>>32) == h && l.SameKey(skiplist.Handle(s), key) {
			return skiplist.Handle(s)
		}
	}
}
