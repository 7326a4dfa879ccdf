package db

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"runtime"
	"slices"
	"sync"
	"unsafe"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/offheap"
	"github.com/stratadb/strata/memtable"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/sstable/cache"
)

// The batched lookup. GetMany sorts the batch, then looks each key up in ascending order in
// the sources Get uses, in Get's order: the memtables, the level-0 files newest first, then one
// file per deeper level. Every table has a cursor (an sstable.Getter) that only moves forward:
// it walks the table's index once, asks the filter once per key, and decodes each data block
// once for all the keys that fall in it. A level's cursor moves from file to file in key order,
// so each table of a level is visited once. A key is looked up in a level only if no level
// above decided it.
//
// The cursors of all levels advance together, key by key, rather than one level for the whole
// batch and then the next: so the answer for each key is known when its turn comes, fn is
// called in key order with a value that still lies in its block (no copy), and only one block
// per level is held at a time.

// GetMany looks up every key of keys as of one moment: ro's snapshot, or the latest state when
// the call begins. The answers are those Get would give for each key at that moment; writes
// that land during the call are not seen.
//
// fn is called once per element of keys (duplicates included), in ascending key order (not
// the order of keys; equal keys in the order of their indexes), with the element's index in
// keys, its value and whether it was found. The value is nil when the key is absent and
// non-nil (perhaps empty) when found; it aliases the DB's memory (a memtable, the block cache
// or a mapped file) and is valid only during the call: copy it to keep it, and do not modify
// it. An error returned by fn stops the lookup and is returned. keys is not modified. fn may
// use the DB, as code holding an open Iterator may.
//
// The batch is sorted (with the DB's comparator; for the default bytewise order, with a radix
// sort), so that each table and each data block is visited at most once for the whole batch
// and the bloom filters rule out absent keys per table: for large batches (thousands of keys
// and more) a key costs a fraction of a Get. Since a batch reads each block once, a batch
// much larger than the block cache gains little from filling it: ReadOptions.DontFillCache
// leaves the cache to other reads and saves allocating the blocks it would keep. Unlike Get,
// a batched lookup does not charge tables for the seeks it wastes (leveldb's seek compaction),
// since its cost per table is shared by the whole batch.
//
// Errors are Get's: ErrClosed on a closed DB, ErrInvalidArgument for a released snapshot or
// one of another DB, ErrCorruption naming the file for a damaged table. A batch of more than
// 2^32-1 keys is refused with ErrInvalidArgument. Safe for concurrent use.
func (d *DB) GetMany(keys [][]byte, ro *ReadOptions, fn func(i int, value []byte, found bool) error) error {
	return d.getMany(keys, ro, nil, fn, manyTuning{offHeapMin: manyOffHeapMin})
}

// HasMany sets found[i] to whether the DB holds keys[i], as of one moment (ro's snapshot, or
// the latest state when the call begins), for every i. It is GetMany without the values:
// it never copies one. len(found) must equal len(keys) (ErrInvalidArgument otherwise). Errors
// are GetMany's; after an error, some elements of found may have been set, the others are as
// they were.
//
// Since it owes no order to a callback, HasMany splits a large batch (from 64Ki keys) once it is
// sorted into contiguous ranges of keys, one per core up to GOMAXPROCS, and looks them up in
// parallel, each range reading its own part of every table.
func (d *DB) HasMany(keys [][]byte, ro *ReadOptions, found []bool) error {
	return d.hasMany(keys, ro, found, manyTuning{perWay: manyParallelMin, offHeapMin: manyOffHeapMin})
}

// manyParallelMin is the number of keys per goroutine from which HasMany runs in parallel.
const manyParallelMin = 1 << 16

// manyOffHeapMin is the batch size from which the sort's entries (24 bytes a key) and its
// scratch live outside the Go heap for the call (see getMany).
const manyOffHeapMin = 1 << 20

// manyTuning holds the thresholds of a batched lookup, which tests lower: perWay, when
// positive, is the number of keys per goroutine from which it runs in parallel (HasMany), and
// offHeapMin the batch size from which it sorts outside the Go heap.
type manyTuning struct{ perWay, offHeapMin int }

// hasMany is HasMany, tuned by tune.
func (d *DB) hasMany(keys [][]byte, ro *ReadOptions, found []bool, tune manyTuning) error {
	if len(found) != len(keys) {
		return dberr.InvalidArgf("HasMany: %d keys but %d results", len(keys), len(found))
	}
	return d.getMany(keys, ro, found, nil, tune)
}

// getMany is GetMany when found is nil, and HasMany (fn unused) when it is not; with
// tune.perWay > 0 a lookup that runs in parallel from perWay keys per goroutine: fn may then be
// called from several goroutines at once, in no particular order, but never twice for one index.
func (d *DB) getMany(batch [][]byte, ro *ReadOptions, found []bool, fn func(int, []byte, bool) error, tune manyTuning) error {
	// The read state first, then the sequence number, as get does.
	rs := d.loadReadState()
	if rs == nil {
		return ErrClosed
	}
	defer rs.unref()
	seq, err := d.readSeq(ro)
	if err != nil {
		return err
	}
	if uint64(len(batch)) > math.MaxUint32 {
		return dberr.InvalidArgf("GetMany: %d keys, more than %d", len(batch), uint64(math.MaxUint32))
	}
	if len(batch) == 0 {
		return nil
	}
	s := manyPool.Get().(*manyLookup)
	defer s.finish()
	ways := 1
	if tune.perWay > 0 {
		ways = max(1, min(runtime.GOMAXPROCS(0), len(batch)/tune.perWay))
	}
	skip := 0
	if keys.IsBytewise(d.icmp.User) {
		skip = commonPrefixLen(batch)
	}
	var sorted []sortEnt
	if n := len(batch); n >= tune.offHeapMin {
		// A large batch sorts in memory of its own outside the heap, returned when the call
		// ends: entries of that size kept in the pool would go at the next collections, and
		// each call would allocate (and zero) them afresh, garbage the collector lets pile up.
		mem := offheap.Alloc(n * int(unsafe.Sizeof(sortEnt{})))
		defer mem.Free()
		var scratch offheap.Buffer
		defer func() { scratch.Free() }()
		sorted, _ = sortBatch(batch, d.icmp.User, skip, entsIn(mem, n)[:0], nil, runtime.GOMAXPROCS(0), func(k int) []sortEnt {
			scratch = offheap.Alloc(k * int(unsafe.Sizeof(sortEnt{})))
			return entsIn(scratch, k)
		})
	} else {
		s.ents, s.tmp = sortBatch(batch, d.icmp.User, skip, s.ents, s.tmp, runtime.GOMAXPROCS(0), nil)
		sorted = s.ents
	}
	sro := d.sstableReadOptions(ro)
	if ways == 1 {
		s.start(d, rs, seq, sro, found, batch[0][:skip])
		return s.lookupAll(batch, sorted, fn)
	}
	// Contiguous ranges of the sorted batch, one per goroutine. A key repeated across a cut is
	// looked up on both sides: the same answer, found twice.
	errs := make([]error, ways)
	inParallel(ways, func(w int) {
		t := s
		if w > 0 {
			t = manyPool.Get().(*manyLookup)
			defer t.finish()
		}
		t.start(d, rs, seq, sro, found, batch[0][:skip])
		errs[w] = t.lookupAll(batch, sorted[len(sorted)*w/ways:len(sorted)*(w+1)/ways], fn)
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// lookupAll looks up the keys of batch that sorted holds, in its order, and calls fn for each
// (or sets s.found).
func (s *manyLookup) lookupAll(batch [][]byte, sorted []sortEnt, fn func(int, []byte, bool) error) error {
	var v []byte
	var found bool
	var prevKey []byte // the previous entry's key
	var err error
	for start := 0; start < len(sorted); {
		if prevKey != nil {
			// The gather reuses the lookup keys' memory.
			s.last = append(s.last[:0], prevKey...)
			prevKey = s.last
		}
		ents := sorted[start : start+s.gather(batch, sorted[start:])]
		for j, e := range ents {
			lookup := s.lookups[j]
			key := keys.UserKey(lookup)
			// A duplicate of the previous key has its answer, and its value is still valid.
			// Under the bytewise order the entries tell most keys apart without comparing them
			// (under other orders their numbers are all alike).
			if start+j == 0 || s.prev.pfx != e.pfx || s.prev.sfx != e.sfx || s.prev.n != e.n || !bytes.Equal(prevKey, key) {
				if v, found, err = s.find(lookup); err != nil {
					return err
				}
			}
			s.prev, prevKey = e, key
			if s.found != nil {
				s.found[e.idx] = found
			} else if err := fn(int(e.idx), v, found); err != nil {
				return err
			}
		}
		start += len(ents)
	}
	return nil
}

// Gathering: the sorted batch visits the caller's keys in an order unrelated to where they lie
// in memory, and in a large batch each one costs a cache miss or two (its slice header, its
// bytes), and HasMany's answer another. Taken one at a time in the middle of its lookup, such a
// miss stalls the lookup; taken in tight loops of independent loads, a few hundred keys at a
// time, the misses overlap. Better still, a key of at most entryKeyMax bytes past the batch's
// common prefix is whole in its sort entry, which the lookup reads in sequence: it is built from
// the entry, and the caller's memory is not read again at all. The gathered keys are written, as
// the internal keys the lookup seeks, into one small buffer that stays in the cache while they
// are looked up. Copying the keys took HasMany over a DB of 20,000,000 usernames, in batches of
// 1,800,000 (as the usernames command's verify), from 321 ns a key to 268 (the best of six passes
// over the names each): the first comparison with the lookup key had been waiting, 90 ns a
// key, for its bytes. Building the keys from the entries took the same HasMany, over
// 100,000,000 usernames in batches of 14,300,000, from 318 and 346 ns a key to 273 and 309 (two
// runs each, alternating, on a machine slower that day).

// gatherKeys is the most keys gathered at a time, and gatherBytes about the most bytes of
// lookup keys (at least one key is gathered, however long).
const (
	gatherKeys  = 512
	gatherBytes = 32 << 10
)

// gather writes the internal lookup keys of a prefix of ents, in order, into s.lookups (in
// s.buf), and returns the prefix's length.
func (s *manyLookup) gather(batch [][]byte, ents []sortEnt) int {
	n := min(len(ents), gatherKeys)
	// Size the lookup keys, and touch what the lookups will read of the caller's memory, in one
	// loop of independent loads: HasMany's answers, and the slices and first bytes of the keys
	// not whole in their entries.
	size := 0
	var x byte
	for j, e := range ents[:n] {
		if s.found != nil && s.found[e.idx] {
			x++
		}
		if e.whole() {
			size += len(s.common) + int(e.n) + keys.TrailerLen
		} else {
			k := batch[e.idx]
			if len(k) > 0 {
				x += k[0]
			}
			size += len(k) + keys.TrailerLen
		}
		if size > gatherBytes && j > 0 {
			n = j + 1
			break
		}
	}
	s.touched = x
	s.buf = slices.Grow(s.buf[:0], size)
	s.lookups = slices.Grow(s.lookups[:0], n)[:n]
	var whole [entryKeyMax]byte
	for j, e := range ents[:n] {
		off := len(s.buf)
		if e.whole() {
			binary.BigEndian.PutUint64(whole[:8], e.pfx)
			binary.BigEndian.PutUint64(whole[8:], e.sfx)
			s.buf = keys.AppendInternalKey(append(s.buf, s.common...), whole[:e.n], s.seq, keys.KindMax)
		} else {
			s.buf = keys.AppendInternalKey(s.buf, batch[e.idx], s.seq, keys.KindMax)
		}
		s.lookups[j] = s.buf[off:len(s.buf):len(s.buf)]
	}
	return n
}

// manyLookup is the state of one batched lookup, pooled with its buffers.
type manyLookup struct {
	d      *DB
	seq    keys.SeqNum
	sro    sstable.ReadOptions
	mems   [2]*memtable.MemTable // the memtables that held entries when the lookup began
	nmems  int
	lookup []byte // the internal lookup key of the current key

	ents, tmp []sortEnt // the sorted batch and the sort's scratch
	common    []byte    // the prefix every key of the batch shares (bytewise order), a copy
	lookups   [][]byte  // the internal lookup keys of the current gather, in buf
	buf       []byte    // the lookup keys of the current gather
	last      []byte    // a copy of the previous gather's last key
	touched   byte      // the sum of the keys' first bytes, so that reading them is not elided
	prev      sortEnt   // the entry before the current one
	found     []bool    // HasMany's answers, or nil for GetMany

	l0     []manyTable                     // level 0, newest first
	levels [compaction.NumLevels]manyLevel // levels 1 and deeper; levels[0] unused
}

var manyPool = sync.Pool{New: func() any { return new(manyLookup) }}

// manyTable is a table that the lookup reads: its cursor, opened on the first key that needs it.
type manyTable struct {
	f    *compaction.FileMetadata
	h    *cache.Handle[*table] // nil until opened
	g    sstable.Getter
	done bool // level 0: the keys have passed the table's largest key
}

// manyLevel is a level of the tree (1 or deeper): its files and a cursor on one of them.
type manyLevel struct {
	files []*compaction.FileMetadata
	next  int // index in files of t.f: the first file whose largest key is >= the current key
	t     manyTable
}

// start prepares s for a lookup in rs as of seq, setting found's elements (HasMany) if not nil,
// of a batch whose keys all begin with common (sortBatch's skip).
func (s *manyLookup) start(d *DB, rs *readState, seq keys.SeqNum, sro sstable.ReadOptions, found []bool, common []byte) {
	s.d, s.seq, s.sro, s.found = d, seq, sro, found
	s.common = append(s.common[:0], common...)
	// A memtable empty now stays empty as of seq: the writes up to seq were applied before seq
	// was published.
	s.nmems = 0
	for _, m := range [2]*memtable.MemTable{rs.mem, rs.imm} {
		if m != nil && !m.Empty() {
			s.mems[s.nmems] = m
			s.nmems++
		}
	}
	v := rs.version
	l0 := v.Levels[0]
	n := len(l0)
	if cap(s.l0) < n {
		s.l0 = append(s.l0[:cap(s.l0)], make([]manyTable, n-cap(s.l0))...)
	}
	s.l0 = s.l0[:n] // the Getters of earlier lookups are kept for their buffers
	for i := range s.l0 {
		s.l0[i].f, s.l0[i].done = l0[n-1-i], false
	}
	for level := 1; level < compaction.NumLevels; level++ {
		l := &s.levels[level]
		l.files, l.next = v.Levels[level], 0
		l.t.f, l.t.done = nil, false
		if len(l.files) > 0 {
			l.t.f = l.files[0]
		}
	}
}

// finish releases the tables s holds, drops its references to the DB and the caller's keys, and
// returns it to the pool.
func (s *manyLookup) finish() {
	for i := range s.l0 {
		s.l0[i].close()
		s.l0[i].f = nil
	}
	for level := range s.levels {
		l := &s.levels[level]
		l.t.close()
		l.files, l.t.f = nil, nil
	}
	clear(s.lookups)
	s.d, s.found = nil, nil
	s.mems = [2]*memtable.MemTable{}
	manyPool.Put(s)
}

// close releases t's table, if open.
func (t *manyTable) close() {
	if t.h != nil {
		t.g.Release()
		t.h.Release()
		t.h = nil
	}
}

// find looks up the key of lookup, an internal lookup key as of s.seq: the next key of the
// batch in ascending order, at or after the previous one. The value aliases a memtable or a
// table's block and is valid until the next find.
func (s *manyLookup) find(lookup []byte) ([]byte, bool, error) {
	key := keys.UserKey(lookup)
	for _, m := range s.mems[:s.nmems] {
		switch v, res := m.Get(key, s.seq); res {
		case memtable.Found:
			return nonNil(v), true, nil
		case memtable.Deleted:
			return nil, false, nil
		}
	}
	s.lookup = lookup
	icmp := s.d.icmp
	for i := range s.l0 {
		t := &s.l0[i]
		if t.done {
			continue
		}
		if icmp.CompareUser(key, t.f.LargestUser()) > 0 {
			// Every later key is past this table too.
			t.done = true
			t.close()
			continue
		}
		if icmp.CompareUser(key, t.f.SmallestUser()) < 0 {
			continue
		}
		if v, res, err := s.inTable(t, key); err != nil || res != memtable.Absent {
			return v, res == memtable.Found, err
		}
	}
	for level := 1; level < compaction.NumLevels; level++ {
		l := &s.levels[level]
		if l.next == len(l.files) {
			continue
		}
		if icmp.Compare(l.files[l.next].Largest, s.lookup) < 0 {
			// As Version.AppendCandidates: the file is the first whose largest internal key is
			// at or after the lookup key.
			l.t.close()
			l.next = s.nextFile(l.files, l.next+1)
			if l.next == len(l.files) {
				continue
			}
			l.t.f = l.files[l.next]
		}
		if icmp.CompareUser(key, l.t.f.SmallestUser()) < 0 {
			continue
		}
		if v, res, err := s.inTable(&l.t, key); err != nil || res != memtable.Absent {
			return v, res == memtable.Found, err
		}
	}
	return nil, false, nil
}

// nextFile returns the index of the first file at or after lo whose largest key is at or after
// the lookup key, or len(files), given that the files before lo end before it: a gallop and a
// binary search, so that a lookup key near the previous one costs a comparison or two.
func (s *manyLookup) nextFile(files []*compaction.FileMetadata, lo int) int {
	icmp := s.d.icmp
	before := func(i int) bool { return icmp.Compare(files[i].Largest, s.lookup) < 0 }
	hi := lo
	for step := 1; hi < len(files) && before(hi); step <<= 1 {
		lo = hi + 1
		hi += step
	}
	hi = min(hi, len(files))
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if before(mid) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// inTable looks the current lookup key up in t, opening it on first use. res is
// memtable.Found (v is the value), memtable.Deleted, or memtable.Absent when the table does
// not decide the key.
func (s *manyLookup) inTable(t *manyTable, key []byte) (v []byte, res memtable.Result, err error) {
	if t.h == nil {
		h, err := s.d.tables.acquire(t.f.Num)
		if err != nil {
			return nil, memtable.Absent, err
		}
		t.h = h
		t.g.Reset(h.Value().Reader, s.sro)
	}
	k, v, err := t.g.Get(s.lookup)
	if err != nil {
		if err == dberr.ErrNotFound || errors.Is(err, dberr.ErrNotFound) {
			return nil, memtable.Absent, nil
		}
		return nil, memtable.Absent, err
	}
	pk, ok := keys.Parse(k)
	if !ok {
		return nil, memtable.Absent, dberr.Corruptf(t.h.Value().Name(), dberr.NoOffset, "bad internal key %q", k)
	}
	if s.d.icmp.CompareUser(pk.UserKey, key) != 0 {
		return nil, memtable.Absent, nil
	}
	if pk.Kind == keys.KindDelete {
		return nil, memtable.Deleted, nil
	}
	return nonNil(v), memtable.Found, nil
}

// entsIn returns the n sort entries that m holds.
func entsIn(m offheap.Buffer, n int) []sortEnt {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*sortEnt)(unsafe.Pointer(&m.Bytes()[0])), n)
}

// nonNil returns v, or an empty non-nil slice for a nil v: a found value is never nil.
func nonNil(v []byte) []byte {
	if v == nil {
		return present
	}
	return v
}
