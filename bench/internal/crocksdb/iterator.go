//go:build crocksdb

package crocksdb

// #include "glue.h"
import "C"

import (
	"sync/atomic"
)

// Iterator walks a DB in key order with a rocksdb::Iterator, over the DB as of its creation. It
// starts unpositioned; every move returns Valid(). Key and Value are views of RocksDB's memory,
// valid until the next move or Close. Each move is one cgo call; Valid, Key and Value read the
// state that call left and cost none.
type Iterator struct {
	c     *C.strata_rocks_iter
	owner *atomic.Int64 // the DB's count of open iterators
	err   error         // set when the iterator could not be created
}

func (it *Iterator) move(op C.int, key []byte) bool {
	if it.c == nil {
		return false
	}
	C.strata_rocks_iter_move(it.c, op, cbytes(key), C.size_t(len(key)))
	return it.c.valid != 0
}

// First moves to the first entry.
func (it *Iterator) First() bool { return it.move(C.STRATA_FIRST, nil) }

// Last moves to the last entry.
func (it *Iterator) Last() bool { return it.move(C.STRATA_LAST, nil) }

// Seek moves to the first entry at or after key.
func (it *Iterator) Seek(key []byte) bool { return it.move(C.STRATA_SEEK, key) }

// Next moves to the next entry; on an iterator not at an entry it does nothing and returns
// false (RocksDB would fail an assertion).
func (it *Iterator) Next() bool {
	if !it.Valid() {
		return false
	}
	return it.move(C.STRATA_NEXT, nil)
}

// Prev moves to the previous entry; on an iterator not at an entry it returns false.
func (it *Iterator) Prev() bool {
	if !it.Valid() {
		return false
	}
	return it.move(C.STRATA_PREV, nil)
}

// Valid reports whether the iterator is at an entry.
func (it *Iterator) Valid() bool { return it.c != nil && it.c.valid != 0 }

// Key returns the current key: RocksDB's memory, valid until the next move or Close.
func (it *Iterator) Key() []byte {
	if !it.Valid() {
		return nil
	}
	return goView(it.c.key, it.c.key_len)
}

// Value returns the current value: RocksDB's memory, valid until the next move or Close.
func (it *Iterator) Value() []byte {
	if !it.Valid() {
		return nil
	}
	return goView(it.c.value, it.c.value_len)
}

// Error returns the iterator's status: nil unless RocksDB met an error (corruption, I/O).
func (it *Iterator) Error() error {
	if it.c == nil {
		return it.err
	}
	return errorOf(C.strata_rocks_iter_status(it.c))
}

// Close releases the iterator and returns its final status. Calling it again does nothing.
func (it *Iterator) Close() error {
	if it.c == nil {
		return it.err
	}
	err := it.Error()
	C.strata_rocks_iter_free(it.c)
	it.c = nil
	it.owner.Add(-1)
	return err
}
