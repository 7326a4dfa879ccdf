//go:build crocksdb

// Package crocksdb binds RocksDB (Debian's librocksdb-dev, 7.8) through cgo and its C API,
// rocksdb/c.h, so that bench/ can compare Strata with it. It lives in the bench module and
// every file carries the crocksdb build tag: neither the library nor a plain `go build ./...`
// of bench needs cgo or RocksDB, and `go test -tags crocksdb ./...` builds it.
//
// It offers what the benchmarks use: a DB opened with leveldb-shaped Options (Put, Delete,
// Write of a Batch, Get, iterators, CompactRange, Property), nothing more.
//
// Memory: keys and values handed to the binding are only read during the call. Get returns a
// copy in Go memory that the caller owns. Iterator.Key and Iterator.Value are views of RocksDB's
// memory, valid until the iterator next moves or is closed.
//
// Concurrency: a DB may be used from many goroutines at once, as rocksdb::DB may, but Close must
// not race with any other call. An Iterator belongs to one goroutine at a time, and iterators
// must be closed before the DB: Close refuses with ErrIteratorsOpen otherwise.
//
// Cost: each Put, Delete, Write and iterator move is one cgo call (a Batch crosses as one
// buffer, in RocksDB's own WriteBatch encoding); Get is two, the lookup and freeing its
// result.
package crocksdb

// The C helpers are in glue.c; -lrocksdb brings snappy and the other codecs with it.
// noescape: no C function keeps a Go pointer past the call; nocallback: none calls back into Go.

// #cgo LDFLAGS: -lrocksdb
// #cgo noescape rocksdb_put
// #cgo noescape rocksdb_delete
// #cgo noescape rocksdb_get
// #cgo noescape strata_rocks_write_rep
// #cgo noescape strata_rocks_iter_move
// #cgo nocallback rocksdb_put
// #cgo nocallback rocksdb_delete
// #cgo nocallback rocksdb_get
// #cgo nocallback strata_rocks_write_rep
// #cgo nocallback strata_rocks_iter_move
// #include <rocksdb/c.h>
// #include "glue.h"
import "C"

import (
	"errors"
	"unsafe"
)

// ErrClosed is returned by calls on a closed DB.
var ErrClosed = errors.New("crocksdb: closed")

// ErrIteratorsOpen is returned by Close while iterators over the DB are still open.
var ErrIteratorsOpen = errors.New("crocksdb: close with iterators still open")

// Error is a failed rocksdb::Status, by its ToString() text ("IO error: ...").
type Error struct{ Msg string }

func (e *Error) Error() string { return "crocksdb: " + e.Msg }

// errorOf turns the message a C API call left in errptr into an error and frees it.
func errorOf(msg *C.char) error {
	if msg == nil {
		return nil
	}
	defer C.rocksdb_free(unsafe.Pointer(msg))
	return &Error{Msg: C.GoString(msg)}
}

func cbool(b bool) C.uchar {
	if b {
		return 1
	}
	return 0
}

// cbytes returns the C view of b's data for the duration of a call; nil for an empty slice.
func cbytes(b []byte) *C.char {
	if len(b) == 0 {
		return nil
	}
	return (*C.char)(unsafe.Pointer(unsafe.SliceData(b)))
}

// goView is a Go slice over C memory; it is valid only as long as that memory is.
func goView(p *C.char, n C.size_t) []byte {
	if p == nil {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}
