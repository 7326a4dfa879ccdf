package db

import (
	"iter"

	"github.com/stratadb/strata/internal/iterator"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/sstable/cache"
)

// Iterator walks the DB in key order, in either direction, seeing the state of the moment it was
// created (or of its snapshot): later writes, flushes and compactions change nothing it sees.
// Positioning methods return Valid. Key and Value are valid until the next positioning call and
// must not be modified. An Iterator belongs to one goroutine; Close it when done, which releases
// the files it pins.
type Iterator struct {
	d    *DB
	rs   *readState
	vis  *iterator.Visible
	err  error
	done bool           // closed
	rec  *rangeRecorder // a transaction's iterator: records the ranges it covers; else nil
}

// NewIterator returns an unpositioned iterator. A nil ro reads the latest state with default
// options. Errors (a closed DB, a released snapshot, an unreadable table) surface from the
// iterator's Error.
func (d *DB) NewIterator(ro *ReadOptions) *Iterator {
	// The read state before the sequence number, as in Get.
	rs := d.loadReadState()
	if rs == nil {
		return &Iterator{err: ErrClosed}
	}
	seq, err := d.readSeq(ro)
	if err != nil {
		rs.unref()
		return &Iterator{err: err}
	}
	var lower, upper []byte
	if ro != nil {
		// Copied: the caller may reuse its slices while the iterator lives.
		lower, upper = cloneBound(ro.LowerBound), cloneBound(ro.UpperBound)
	}
	internal, err := d.newInternalIterator(rs, d.sstableReadOptions(ro))
	if err != nil {
		rs.unref()
		return &Iterator{err: err}
	}
	return &Iterator{d: d, rs: rs, vis: iterator.NewVisible(internal, d.opts.Comparator, seq, lower, upper)}
}

// newInternalIterator merges every source of rs, newest first: the memtable, the immutable
// memtable, level-0 tables newest first, then one concatenating iterator per deeper level.
func (d *DB) newInternalIterator(rs *readState, sro sstable.ReadOptions) (iterator.Iterator, error) {
	its := []iterator.Iterator{rs.mem.NewIterator()}
	if rs.imm != nil {
		its = append(its, rs.imm.NewIterator())
	}
	v := rs.version
	l0 := v.Levels[0]
	for i := len(l0) - 1; i >= 0; i-- {
		it, err := d.newTableIter(l0[i].Num, sro)
		if err != nil {
			for _, c := range its {
				c.Close()
			}
			return nil, err
		}
		its = append(its, it)
	}
	for level := 1; level < len(v.Levels); level++ {
		files := v.Levels[level]
		if len(files) == 0 {
			continue
		}
		its = append(its, newLevelIter(d.icmp.Compare, len(files),
			func(i int) ([]byte, []byte) { return files[i].Smallest, files[i].Largest },
			func(i int) (iterator.Iterator, error) { return d.newTableIter(files[i].Num, sro) }))
	}
	return iterator.NewMerging(d.icmp.Compare, its...), nil
}

// tableIter is a table's iterator that holds the table open until it is closed.
type tableIter struct {
	*sstable.Iterator
	h *cache.Handle[*table]
}

func (t *tableIter) Close() error {
	err := t.Iterator.Close()
	t.h.Release()
	return err
}

func (d *DB) newTableIter(num uint64, sro sstable.ReadOptions) (iterator.Iterator, error) {
	h, err := d.tables.acquire(num)
	if err != nil {
		return nil, err
	}
	return &tableIter{Iterator: h.Value().NewIterator(sro), h: h}, nil
}

// alive reports whether the iterator may move; it records ErrClosed once the DB is closed.
func (it *Iterator) alive() bool {
	if it.err != nil || it.done {
		return false
	}
	if it.d.closed.Load() {
		it.err = ErrClosed
		return false
	}
	return true
}

// First moves to the first key (the first at or above LowerBound).
func (it *Iterator) First() bool {
	ok := it.alive() && it.vis.First()
	if it.rec != nil {
		it.rec.first(it, ok)
	}
	return ok
}

// Last moves to the last key (the last below UpperBound).
func (it *Iterator) Last() bool {
	ok := it.alive() && it.vis.Last()
	if it.rec != nil {
		it.rec.last(it, ok)
	}
	return ok
}

// Seek moves to the first key at or after key.
func (it *Iterator) Seek(key []byte) bool {
	ok := it.alive() && it.vis.SeekGE(key)
	if it.rec != nil {
		it.rec.seek(it, key, ok)
	}
	return ok
}

// SeekLT moves to the last key before key.
func (it *Iterator) SeekLT(key []byte) bool {
	ok := it.alive() && it.vis.SeekLT(key)
	if it.rec != nil {
		it.rec.seekLT(it, key, ok)
	}
	return ok
}

// Next moves to the next key. Precondition: Valid.
func (it *Iterator) Next() bool {
	ok := it.alive() && it.vis.Next()
	if it.rec != nil {
		it.rec.next(it, ok)
	}
	return ok
}

// Prev moves to the previous key. Precondition: Valid.
func (it *Iterator) Prev() bool {
	ok := it.alive() && it.vis.Prev()
	if it.rec != nil {
		it.rec.prev(it, ok)
	}
	return ok
}

// Valid reports whether the iterator is on a key.
func (it *Iterator) Valid() bool { return it.err == nil && !it.done && it.vis != nil && it.vis.Valid() }

// Key returns the current key, or nil when the iterator is not on a key: before the first
// positioning call, past either end, after an error and after Close. The slice is valid until
// the next positioning call and must not be modified.
func (it *Iterator) Key() []byte {
	if !it.Valid() {
		return nil
	}
	return it.vis.Key()
}

// Value returns the current value, or nil when the iterator is not on a key (see Key). An
// empty value may be nil too, so use Valid, not Value, to tell whether the iterator is on a
// key. The slice is valid until the next positioning call and must not be modified.
func (it *Iterator) Value() []byte {
	if !it.Valid() {
		return nil
	}
	return it.vis.Value()
}

// Error returns the error that stopped the iterator, if any: an invalid iterator with a nil
// Error has reached the end.
func (it *Iterator) Error() error {
	if it.err != nil {
		return it.err
	}
	if it.vis == nil {
		return nil
	}
	return it.vis.Error()
}

// Close releases the iterator and returns its error, if any. Closing twice is harmless.
func (it *Iterator) Close() error {
	if it.done {
		return it.err
	}
	it.done = true
	if it.vis != nil {
		if err := it.vis.Close(); err != nil && it.err == nil {
			it.err = err
		}
		it.rs.unref()
	}
	return it.err
}

// All yields every key and value from the first key on, for range loops. The slices are valid
// only until the loop moves on. Check Error after the loop.
func (it *Iterator) All() iter.Seq2[[]byte, []byte] {
	return func(yield func([]byte, []byte) bool) {
		for ok := it.First(); ok; ok = it.Next() {
			if !yield(it.Key(), it.Value()) {
				return
			}
		}
	}
}

// cloneBound copies an iterator bound, keeping nil (unbounded) apart from empty.
func cloneBound(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}
