// Package memtable is the in-memory write buffer of the DB: a skiplist of internal keys.
//
// Every write is added with its sequence number and kind; entries are never removed, and the
// table is dropped as a whole once it has been flushed to a level-0 table. Keys and values are
// copied into the table's arena, so callers may reuse their buffers, and the table allocates
// nothing on the Go heap per entry.
//
// Concurrency: one writer (Add) at a time, serialised by the caller, and any number of concurrent
// readers (Get, iterators) with no locks. A reader sees every entry whose Add returned before the
// read began. Slices returned by Get and by iterators alias the arena and are valid as long as
// the MemTable is reachable; they must not be modified.
//
// Invariant: for one user key, entries are ordered newest (highest sequence) first, so Get at a
// sequence number finds the newest entry visible at it by a single seek.
package memtable

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/stratadb/strata/internal/coding"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/skiplist"
)

// ErrFull is returned by Add when the table's arena cannot hold the entry; the table is
// unchanged and the caller should start a new one.
var ErrFull = errors.New("memtable full")

// Result tells the outcome of Get apart.
type Result uint8

const (
	// Absent means the table holds no entry for the key at or below the sequence number.
	Absent Result = iota
	// Found means the newest visible entry is a value.
	Found
	// Deleted means the newest visible entry is a deletion: the key is absent, and older data
	// (in tables) must not be consulted.
	Deleted
)

func (r Result) String() string {
	switch r {
	case Found:
		return "found"
	case Deleted:
		return "deleted"
	}
	return "absent"
}

// MemTable is a skiplist of internal keys. See the package documentation.
type MemTable struct {
	// size is what Size returns; written by the one writer only, read atomically. First, so that
	// it is 8-byte aligned for atomic access on 32-bit platforms too.
	size  uint64
	cmp   *keys.InternalComparator
	list  *skiplist.List
	index *hashIndex // newest entry of each user key; nil for custom comparators
	refs  atomic.Int32
}

// New returns an empty table ordered by user whose arena holds capacity bytes.
func New(user keys.Comparator, capacity int) *MemTable {
	return newMemTable(user, skiplist.NewArena(capacity), false)
}

// NewOffHeap is New with the arena and the hash index outside the Go heap
// (skiplist.NewMappedArena), so that the garbage collector neither scans them nor paces
// collections by them. The owner must call Free
// once the last user is gone (Unref returned true) and the table is not to be reused.
func NewOffHeap(user keys.Comparator, capacity int) *MemTable {
	return newMemTable(user, skiplist.NewMappedArena(capacity), true)
}

func newMemTable(user keys.Comparator, arena *skiplist.Arena, offHeap bool) *MemTable {
	ic := keys.NewInternalComparator(user)
	m := &MemTable{cmp: ic}
	if keys.IsBytewise(user) {
		m.list = skiplist.New(arena, nil) // nil: bytewise, without indirection
		m.index = newHashIndex(arena.Capacity(), offHeap)
	} else {
		m.list = skiplist.New(arena, user.Compare)
	}
	m.refs.Store(1)
	return m
}

// Free releases the memory of a table made by NewOffHeap (for New's, it does nothing: the
// garbage collector frees it). Nothing may use the table, or any slice read from it,
// afterwards.
func (m *MemTable) Free() {
	m.list.Arena().Free()
	if m.index != nil {
		m.index.free()
	}
}

// Ref counts one more user of the table. A new table has one user, its creator.
func (m *MemTable) Ref() { m.refs.Add(1) }

// Unref drops a user and reports whether it was the last one: then nothing uses the table and
// its owner may Reset it for reuse.
func (m *MemTable) Unref() bool { return m.refs.Add(-1) == 0 }

// Reset empties the table for reuse, keeping its memory: the arena's pages and the hash index's
// table are mapped already, so a recycled table takes writes without page faults or zeroing of
// a fresh arena. Nothing may use the table, or any slice read from it, afterwards; the table
// has one user again, the caller.
func (m *MemTable) Reset() {
	m.list.Reset()
	if m.index != nil {
		m.index.reset(m.list.Arena().Capacity())
	}
	m.size = 0
	m.refs.Store(1)
}

// EntrySize returns the most arena bytes one entry of these sizes takes, so a caller can make
// sure a whole batch fits before adding any of it.
func EntrySize(keyLen, valueLen int) int { return skiplist.EntrySize(keyLen, valueLen) }

// Add records that key had value (kind KindSet) or was deleted (KindDelete, value ignored) at
// seq. It returns ErrFull when the arena cannot hold the entry. Add must not run concurrently
// with itself. The versions of one key must be added oldest first (in increasing seq), as writes
// and log replay add them: the hash index takes the last version added as the key's newest.
func (m *MemTable) Add(seq keys.SeqNum, kind keys.Kind, key, value []byte) error {
	if kind > keys.KindMax {
		return dberr.InvalidArgf("memtable entry of unknown kind %d", kind)
	}
	if seq > keys.MaxSeqNum {
		return dberr.InvalidArgf("memtable entry with sequence number %d past the maximum", seq)
	}
	if kind == keys.KindDelete {
		value = nil
	}
	var (
		hash uint32
		slot unsafe.Pointer
	)
	if m.index != nil {
		hash = keyHash(key)
		slot = m.index.homeSlot(hash)
	}
	switch h, err := m.list.InsertWarming(key, keys.Trailer(seq, kind), value, slot); {
	case err == nil:
		if m.index != nil {
			m.index.insert(m.list, key, hash, h)
		}
		skiplist.Publish64(&m.size, m.size+uint64(leveldbEntrySize(len(key), len(value))))
		return nil
	case errors.Is(err, skiplist.ErrArenaFull):
		return ErrFull
	default:
		return fmt.Errorf("add %s to the memtable: %w", keys.ParsedKey{UserKey: key, Seq: seq, Kind: kind}, err)
	}
}

// Get returns the newest entry for key with a sequence number at or below seq. For Found, value
// aliases the arena.
func (m *MemTable) Get(key []byte, seq keys.SeqNum) (value []byte, res Result) {
	var it skiplist.Iterator
	it.Init(m.list)
	if m.index != nil {
		h := m.index.lookup(m.list, key)
		if h == 0 {
			return nil, Absent
		}
		// Versions of a key are adjacent, newest first: from the newest, step to the first one
		// the reader may see. A reader at the latest sequence number takes no step.
		it.SetHandle(h)
		for s, _ := keys.SplitTrailer(it.Tag()); s > seq; s, _ = keys.SplitTrailer(it.Tag()) {
			if !it.Next() || !m.list.SameKey(it.Handle(), key) {
				return nil, Absent
			}
		}
	} else if !it.SeekGE(key, keys.Trailer(seq, keys.KindMax)) || m.cmp.CompareUser(it.Key(), key) != 0 {
		return nil, Absent
	}
	if _, kind := keys.SplitTrailer(it.Tag()); kind == keys.KindDelete {
		return nil, Deleted
	}
	return it.Value(), Found
}

// leveldbNodeBytes is what a leveldb skiplist node adds to an entry's encoding: a key pointer and,
// at branching 1/4, 4/3 next pointers on average.
const leveldbNodeBytes = 8 + 8*4/3

// leveldbEntrySize is what one entry costs leveldb's memtable: the encoded entry (varint lengths,
// internal key, value) and its node.
func leveldbEntrySize(keyLen, valueLen int) int {
	ikey := keyLen + keys.TrailerLen
	return coding.VarintLen(uint64(ikey)) + ikey + coding.VarintLen(uint64(valueLen)) + valueLen + leveldbNodeBytes
}

// Size returns the write-buffer bytes the entries take, counted as leveldb counts its memtable:
// each entry's encoding plus a node of average height. The DB compares it with WriteBufferSize,
// so that a memtable is flushed holding as many entries as leveldb's would with the same
// setting, and tables, compactions and write amplification come out alike. The arena holds
// somewhat more (wider nodes, kept within cache lines); ApproximateMemoryUsage reports that.
func (m *MemTable) Size() int { return int(atomic.LoadUint64(&m.size)) }

// ApproximateMemoryUsage returns the bytes of arena in use: nodes, keys and values.
func (m *MemTable) ApproximateMemoryUsage() int { return m.list.Arena().Size() }

// Capacity returns the arena's size.
func (m *MemTable) Capacity() int { return m.list.Arena().Capacity() }

// MemoryBytes returns the memory the table holds: its arena's capacity and its hash index. The
// index (bytewise tables only) starts at a sixteenth of the arena and grows only when the
// entries are much smaller than ordinary ones.
func (m *MemTable) MemoryBytes() int {
	n := m.Capacity()
	if m.index != nil {
		n += int(m.index.bytes.Load())
	}
	return n
}

// StartingMemory returns what MemoryBytes reports for a new table ordered by user whose arena
// holds capacity bytes.
func StartingMemory(user keys.Comparator, capacity int) int {
	if keys.IsBytewise(user) {
		return capacity + indexBytes(capacity)
	}
	return capacity
}

// Len returns the number of entries.
func (m *MemTable) Len() int { return m.list.Len() }

// Empty reports whether the table holds no entries.
func (m *MemTable) Empty() bool { return m.list.Len() == 0 }

// Comparator returns the internal-key order of the table.
func (m *MemTable) Comparator() *keys.InternalComparator { return m.cmp }

// Available returns the arena bytes still free. An entry fits when EntrySize of its key and
// value is at most Available.
func (m *MemTable) Available() int { return m.list.Arena().Capacity() - m.list.Arena().Size() }
