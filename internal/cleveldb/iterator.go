//go:build cleveldb

package cleveldb

// #include "glue.h"
import "C"

import "sync/atomic"

// Iterator walks a DB or a table in key order with a leveldb::Iterator. It starts unpositioned;
// every move returns Valid(). Key and Value are views of leveldb's memory, valid until the next
// move or Close: copy them to keep them. Each move is one cgo call; Valid, Key and Value read
// the state that call left behind and cost no call.
type Iterator struct {
	c     *C.strata_iter
	owner *atomic.Int64 // the DB's or Table's count of open iterators
	err   error         // set when the iterator could not be created
}

func newIterator(c *C.strata_iter, owner *atomic.Int64) *Iterator {
	owner.Add(1)
	return &Iterator{c: c, owner: owner}
}

func (it *Iterator) move(op C.int, key []byte) bool {
	if it.c == nil {
		return false
	}
	C.strata_iter_move(it.c, op, cbytes(key), C.size_t(len(key)))
	return it.c.valid != 0
}

// SeekToFirst moves to the first entry.
func (it *Iterator) SeekToFirst() bool { return it.move(C.STRATA_SEEK_FIRST, nil) }

// SeekToLast moves to the last entry.
func (it *Iterator) SeekToLast() bool { return it.move(C.STRATA_SEEK_LAST, nil) }

// Seek moves to the first entry at or after key.
func (it *Iterator) Seek(key []byte) bool { return it.move(C.STRATA_SEEK, key) }

// Next moves to the next entry. REQUIRES: Valid().
func (it *Iterator) Next() bool {
	if !it.Valid() {
		return false // leveldb would abort on an assertion
	}
	return it.move(C.STRATA_NEXT, nil)
}

// Prev moves to the previous entry. REQUIRES: Valid().
func (it *Iterator) Prev() bool {
	if !it.Valid() {
		return false
	}
	return it.move(C.STRATA_PREV, nil)
}

// Valid reports whether the iterator is at an entry.
func (it *Iterator) Valid() bool { return it.c != nil && it.c.valid != 0 }

// Key returns the current key: leveldb's memory, valid until the next move or Close.
func (it *Iterator) Key() []byte {
	if !it.Valid() {
		return nil
	}
	return goView(it.c.key, it.c.key_len)
}

// Value returns the current value: leveldb's memory, valid until the next move or Close.
func (it *Iterator) Value() []byte {
	if !it.Valid() {
		return nil
	}
	return goView(it.c.value, it.c.value_len)
}

// Error returns the iterator's status: nil unless leveldb met an error (corruption, I/O).
func (it *Iterator) Error() error {
	if it.c == nil {
		return it.err
	}
	var msg *C.char
	return statusError(C.strata_iter_status(it.c, &msg), msg)
}

// Close releases the iterator and returns its final status. Calling it again does nothing.
func (it *Iterator) Close() error {
	if it.c == nil {
		return it.err
	}
	err := it.Error()
	C.strata_iter_free(it.c)
	it.c = nil
	it.owner.Add(-1)
	return err
}
