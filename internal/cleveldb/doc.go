//go:build cleveldb

// Package cleveldb binds C++ leveldb 1.23 (Debian's libleveldb-dev) through cgo, for Strata's
// compatibility tests and for benchmarking C++ leveldb from Go. It is never part of Strata
// itself: every file carries the cleveldb build tag, so `go build ./...` and `go test ./...`
// need neither cgo nor the library, and `go test -tags cleveldb ./...` builds it.
//
// It offers a DB (Open, Put, Delete, Write, Get, iterators, CompactRange, Property,
// GetApproximateSizes, Repair, Destroy), raw tables written with leveldb::TableBuilder and read
// with leveldb::Table (for checking Strata's tables against C++ and for writing fixtures), and
// a counting filter policy that says how often C++ leveldb consulted a bloom filter and how often
// the filter ruled a key out.
//
// Memory: keys and values handed to the binding are only read during the call. Get and
// (*Table).Get return copies in Go memory that the caller owns. Iterator.Key and Iterator.Value
// are views of leveldb's memory, valid until the iterator next moves or is closed; copy them to
// keep them.
//
// Concurrency: a DB may be used from many goroutines at once, as leveldb::DB may, but Close must
// not race with any other call. An Iterator, TableBuilder or Table belongs to one goroutine at a
// time. Iterators must be closed before the DB or Table they read; Close reports an error
// otherwise instead of freeing memory they still use.
//
// Cost: each operation is one cgo call with pointers and lengths, and no C allocation besides
// what leveldb itself does (Get and Write reuse per-DB scratch buffers; errors are the exception).
package cleveldb

// The C++ glue is glue.cc; libleveldb.so links snappy itself, so -lleveldb is all we need.
// noescape: no C function keeps a Go pointer past the call; nocallback: none calls back into Go.

// #cgo CXXFLAGS: -std=c++17 -O2 -Wall
// #cgo LDFLAGS: -lleveldb
// #cgo noescape strata_db_open
// #cgo noescape strata_db_put
// #cgo noescape strata_db_delete
// #cgo noescape strata_db_write
// #cgo noescape strata_db_get
// #cgo noescape strata_db_compact_range
// #cgo noescape strata_db_property
// #cgo noescape strata_db_approximate_sizes
// #cgo noescape strata_db_filter_stats
// #cgo noescape strata_repair
// #cgo noescape strata_destroy
// #cgo noescape strata_iter_move
// #cgo noescape strata_iter_status
// #cgo noescape strata_table_builder_new
// #cgo noescape strata_table_builder_add
// #cgo noescape strata_table_builder_finish
// #cgo noescape strata_table_open
// #cgo noescape strata_table_lookup
// #cgo noescape strata_table_approximate_offset
// #cgo noescape strata_table_filter_stats
// #cgo nocallback strata_db_put
// #cgo nocallback strata_db_delete
// #cgo nocallback strata_db_write
// #cgo nocallback strata_db_get
// #cgo nocallback strata_iter_move
// #cgo nocallback strata_table_lookup
// #include "glue.h"
import "C"
