package memtable

import (
	"sync/atomic"
	"unsafe"

	"github.com/cespare/xxhash/v2"

	"github.com/stratadb/strata/internal/offheap"
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
	tab     atomic.Pointer[hashTable]
	count   int          // distinct keys; writer only
	offHeap bool         // the tables' slots live outside the Go heap (NewOffHeap's tables)
	bytes   atomic.Int64 // the slots' bytes, retired tables' included
	retired []*hashTable // tables grow replaced, kept for readers that loaded them; writer only
}

type hashTable struct {
	slots []uint64 // hash<<32 | handle; 0 = empty; accessed atomically
	mem   offheap.Buffer
}

// A table grows when it would pass three quarters full. Each slot holds the key's hash, so a
// probe that meets another key costs no node visit, and eight slots share a cache line, so even
// a lookup of an absent key near that load (about eight probes on average) reads one or two
// lines. A table starts with a slot for each typicalEntryArena bytes of arena, a sixteenth of
// the arena's size: a DB's memtable, flushed once its entries pass the write buffer (two
// thirds of the arena or less), holds ordinary entries (a 16-byte key and a 100-byte value,
// about 150 arena bytes) at about half that load and never rebuilds it; smaller entries, or a
// table filled to the brim, make it grow.
const (
	minHashSlots      = 1024
	maxHashSlots      = 1<<31 - 1 // so that a slot's index and the table's length fit a uint32 (and an int)
	typicalEntryArena = 128
)

// newHashIndex returns an empty index for an arena of arenaCapacity bytes, its slots outside the
// Go heap when offHeap (then free must be called once the index is no longer used).
func newHashIndex(arenaCapacity int, offHeap bool) *hashIndex {
	x := &hashIndex{offHeap: offHeap}
	x.tab.Store(x.newTable(hashSlots(arenaCapacity)))
	return x
}

// reset empties the index of a table whose arena holds arenaCapacity bytes, clearing its slots
// in place unless the table has grown past its starting size. Nothing may use the index.
func (x *hashIndex) reset(arenaCapacity int) {
	x.freeRetired()
	n := hashSlots(arenaCapacity)
	if t := x.tab.Load(); len(t.slots) == n {
		clear(t.slots)
	} else {
		x.freeTable(t)
		x.tab.Store(x.newTable(n))
	}
	x.count = 0
}

// free releases the tables' off-heap memory (a heap index is the collector's: it does nothing).
// Nothing may use an off-heap index afterwards.
func (x *hashIndex) free() {
	if !x.offHeap {
		return
	}
	x.freeRetired()
	x.freeTable(x.tab.Load())
}

func (x *hashIndex) freeRetired() {
	for _, t := range x.retired {
		x.freeTable(t)
	}
	x.retired = nil
}

func (x *hashIndex) freeTable(t *hashTable) {
	x.bytes.Add(-8 * int64(len(t.slots)))
	t.mem.Free()
	t.slots = nil
}

// indexBytes returns the slot bytes of a new index for an arena of arenaCapacity bytes.
func indexBytes(arenaCapacity int) int { return 8 * hashSlots(arenaCapacity) }

// hashSlots is the starting number of slots for an arena of arenaCapacity bytes: any number,
// not a power of two, so that the index takes a sixteenth of the arena's size, not up to twice
// that.
func hashSlots(arenaCapacity int) int {
	return min(max(minHashSlots, arenaCapacity/typicalEntryArena), maxHashSlots)
}

// full reports whether a table of n slots holding count keys takes no more.
func full(count, n int) bool { return 4*count > 3*n }

func (x *hashIndex) newTable(n int) *hashTable {
	t := &hashTable{}
	x.bytes.Add(8 * int64(n))
	if x.offHeap {
		// Mapped memory is page-aligned and a heap fallback of 8n bytes is 8-byte aligned.
		t.mem = offheap.Alloc(8 * n)
		t.slots = unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(t.mem.Bytes()))), n)
	} else {
		t.slots = make([]uint64, n)
	}
	return t
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

// home returns the first slot to probe for hash h: h scaled to the table's length (h, from
// xxhash, is uniform in all its bits), so rebuilding needs only the stored hash.
func (t *hashTable) home(h uint32) uint32 { return uint32(uint64(h) * uint64(len(t.slots)) >> 32) }

// next returns the slot probed after slot i.
func (t *hashTable) next(i uint32) uint32 {
	if i++; i == uint32(len(t.slots)) {
		return 0
	}
	return i
}

// insert records handle, the newest entry of key, whose keyHash is h. Writer only.
func (x *hashIndex) insert(l *skiplist.List, key []byte, h uint32, handle skiplist.Handle) {
	t := x.tab.Load()
	for i := t.home(h); ; i = t.next(i) {
		s := atomic.LoadUint64(&t.slots[i])
		if s == 0 {
			if full(x.count+1, len(t.slots)) {
				t = x.grow(t)
				i = t.home(h)
				for t.slots[i] != 0 { // the new table holds no copy of key: take its first free slot
					i = t.next(i)
				}
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
	nt := x.newTable(min(2*len(t.slots), maxHashSlots))
	for _, s := range t.slots {
		if s == 0 {
			continue
		}
		i := nt.home(uint32(s >> 32))
		for nt.slots[i] != 0 {
			i = nt.next(i)
		}
		nt.slots[i] = s
	}
	x.tab.Store(nt)
	x.retired = append(x.retired, t)
	return nt
}

// lookup returns the newest entry of key, or 0 when the index has none.
func (x *hashIndex) lookup(l *skiplist.List, key []byte) skiplist.Handle {
	h := keyHash(key)
	t := x.tab.Load()
	for i := t.home(h); ; i = t.next(i) {
		s := atomic.LoadUint64(&t.slots[i])
		if s == 0 {
			return 0
		}
		if uint32(s>>32) == h && l.SameKey(skiplist.Handle(s), key) {
			return skiplist.Handle(s)
		}
	}
}
