//go:build cleveldb

package cleveldb

// #include "glue.h"
import "C"

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"sync/atomic"

	"github.com/stratadb/strata/internal/keys"
)

// Comparator selects the key order of a raw table.
type Comparator int

const (
	// Bytewise is leveldb::BytewiseComparator(): keys are plain byte strings.
	Bytewise Comparator = C.STRATA_CMP_BYTEWISE
	// InternalKeys orders keys as a DB's tables do: user key (bytewise) plus an 8-byte trailer
	// seq<<8|kind, newest first; index keys are shortened the way leveldb's
	// InternalKeyComparator does, and a bloom filter is built over user keys (trailers
	// stripped, as leveldb's InternalFilterPolicy does) under the same filter name.
	InternalKeys Comparator = C.STRATA_CMP_INTERNAL
	// AnyOrder accepts keys in any order and never shortens index keys. It exists to write
	// broken fixtures with out-of-order keys; reading with it gives meaningless seeks.
	AnyOrder Comparator = C.STRATA_CMP_ANY_ORDER
)

// TableOptions configures a raw table written with leveldb::TableBuilder or read with
// leveldb::Table. Zero BlockSize and RestartInterval keep leveldb's defaults (4096, 16).
type TableOptions struct {
	Compression     bool // snappy
	BloomBitsPerKey int  // 0 = no filter; otherwise leveldb's "leveldb.BuiltinBloomFilter2"
	BlockSize       int
	RestartInterval int
	Comparator      Comparator

	// Reading only.
	ParanoidChecks  bool // verify checksums of the index and metaindex blocks at open
	VerifyChecksums bool // verify checksums of data blocks read by iterators and lookups
}

func (o *TableOptions) c() C.strata_table_options {
	return C.strata_table_options{
		compression:            cbool(o.Compression),
		bloom_bits_per_key:     C.int(o.BloomBitsPerKey),
		comparator:             C.int(o.Comparator),
		block_size:             C.int64_t(o.BlockSize),
		block_restart_interval: C.int64_t(o.RestartInterval),
		paranoid_checks:        cbool(o.ParanoidChecks),
		verify_checksums:       cbool(o.VerifyChecksums),
	}
}

// compare returns the Go equivalent of the comparator, or nil for AnyOrder.
func (c Comparator) compare() func(a, b []byte) int {
	switch c {
	case Bytewise:
		return bytes.Compare
	case InternalKeys:
		return keys.NewInternalComparator(keys.Bytewise).Compare
	}
	return nil
}

// addBufferSize is how many bytes of entries TableBuilder.Add collects before handing them to
// C++ in one call.
const addBufferSize = 256 << 10

// TableBuilder writes one raw table file with leveldb::TableBuilder. Add checks the key order
// in Go first (leveldb only asserts it, which would abort the process) and buffers entries so
// that C++ sees them in large batches.
type TableBuilder struct {
	c        *C.strata_table_builder
	cmp      func(a, b []byte) int // nil: any order
	internal bool                  // keys are internal keys
	buf      []byte                // entries not yet handed to C++
	last     []byte                // the last key added
	n        int
	err      error // sticky
}

// NewTableBuilder creates (or truncates) the file at path and starts a table in it.
func NewTableBuilder(path string, o TableOptions) (*TableBuilder, error) {
	co := o.c()
	c, err := openC(func(code *C.int, msg **C.char) *C.strata_table_builder {
		return C.strata_table_builder_new(cstring(path), C.size_t(len(path)), &co, code, msg)
	})
	if err != nil {
		return nil, err
	}
	return &TableBuilder{c: c, cmp: o.Comparator.compare(), internal: o.Comparator == InternalKeys}, nil
}

// Add appends an entry. Keys must come in the table's order (strictly increasing; internal
// keys at least 8 bytes long) unless the comparator is AnyOrder.
func (b *TableBuilder) Add(key, value []byte) error {
	if b.err != nil {
		return b.err
	}
	if b.c == nil {
		return ErrClosed
	}
	if b.internal && len(key) < keys.TrailerLen {
		b.err = fmt.Errorf("cleveldb: internal key %q shorter than its trailer", key)
		return b.err
	}
	if b.cmp != nil {
		if b.n > 0 && b.cmp(key, b.last) <= 0 {
			b.err = fmt.Errorf("cleveldb: table key %q out of order after %q", key, b.last)
			return b.err
		}
		b.last = append(b.last[:0], key...)
	}
	b.buf = appendSlice(b.buf, key)
	b.buf = appendSlice(b.buf, value)
	b.n++
	if len(b.buf) >= addBufferSize {
		return b.flush()
	}
	return nil
}

func (b *TableBuilder) flush() error {
	if len(b.buf) == 0 {
		return nil
	}
	var msg *C.char
	code := C.strata_table_builder_add(b.c, cbytes(b.buf), C.size_t(len(b.buf)), &msg)
	b.buf = b.buf[:0]
	if err := statusError(code, msg); err != nil {
		b.err = err
	}
	return b.err
}

// Finish writes the rest of the table (filter, metaindex, index, footer), syncs and closes the
// file, releases the builder, and returns the file's size.
func (b *TableBuilder) Finish() (size uint64, err error) {
	if b.c == nil {
		return 0, ErrClosed
	}
	if err := b.flush(); err != nil {
		b.Abandon()
		return 0, err
	}
	if b.err != nil {
		b.Abandon()
		return 0, b.err
	}
	var csize C.uint64_t
	var msg *C.char
	code := C.strata_table_builder_finish(b.c, &csize, &msg)
	C.strata_table_builder_free(b.c)
	b.c = nil
	return uint64(csize), statusError(code, msg)
}

// Abandon gives up the table (the file keeps what was written so far) and releases the
// builder. It does nothing after Finish.
func (b *TableBuilder) Abandon() {
	if b.c != nil {
		C.strata_table_builder_free(b.c)
		b.c = nil
	}
}

// WriteTable writes all entries of seq, in order, to a new table at path.
func WriteTable(path string, o TableOptions, seq iter.Seq2[[]byte, []byte]) (size uint64, err error) {
	b, err := NewTableBuilder(path, o)
	if err != nil {
		return 0, err
	}
	for k, v := range seq {
		if err := b.Add(k, v); err != nil {
			b.Abandon()
			return 0, err
		}
	}
	return b.Finish()
}

// Table is a raw table file opened with leveldb::Table::Open.
type Table struct {
	c     *C.strata_table
	iters atomic.Int64
}

// OpenTable opens the table at path. The options must name the comparator and, to use the
// file's filter, BloomBitsPerKey > 0 (its value does not matter for reading); the filter
// policy is always a counting one, see FilterStats.
func OpenTable(path string, o TableOptions) (*Table, error) {
	co := o.c()
	c, err := openC(func(code *C.int, msg **C.char) *C.strata_table {
		return C.strata_table_open(cstring(path), C.size_t(len(path)), &co, code, msg)
	})
	if err != nil {
		return nil, err
	}
	return &Table{c: c}, nil
}

// NewIterator returns an iterator over the table. Close it before the table.
func (t *Table) NewIterator() *Iterator {
	if t.c == nil {
		return &Iterator{err: ErrClosed}
	}
	return newIterator(C.strata_table_iter(t.c), &t.iters)
}

// Lookup runs leveldb's point-lookup path, Table::InternalGet: the filter (when the table has
// one and the options name it), then the index, then one data block. ok is true when leveldb
// produced an entry: the first one at or after key in the block the index chose. k and v are
// valid until the next Lookup. ok is false when the filter ruled key out or the block has no
// such entry.
func (t *Table) Lookup(key []byte) (k, v []byte, ok bool, err error) {
	if t.c == nil {
		return nil, nil, false, ErrClosed
	}
	var called C.int
	var rk, rv, msg *C.char
	var rkl, rvl C.size_t
	code := C.strata_table_lookup(t.c, cbytes(key), C.size_t(len(key)), &called, &rk, &rkl,
		&rv, &rvl, &msg)
	if err := statusError(code, msg); err != nil {
		return nil, nil, false, err
	}
	if called == 0 {
		return nil, nil, false, nil
	}
	return goView(rk, rkl), goView(rv, rvl), true, nil
}

// Get is Lookup for an exact key: it returns a copy of the value when the table holds key.
func (t *Table) Get(key []byte) (value []byte, found bool, err error) {
	k, v, ok, err := t.Lookup(key)
	if err != nil || !ok || !bytes.Equal(k, key) {
		return nil, false, err
	}
	return append([]byte{}, v...), true, nil
}

// ApproximateOffsetOf returns leveldb's estimate of the file offset where key's data begins.
func (t *Table) ApproximateOffsetOf(key []byte) uint64 {
	if t.c == nil {
		return 0
	}
	return uint64(C.strata_table_approximate_offset(t.c, cbytes(key), C.size_t(len(key))))
}

// FilterStats returns how many times leveldb consulted the table's filter (calls) and how many
// times the filter ruled the key out (negatives). A table read without BloomBitsPerKey, or
// whose filter is missing or named differently, gives zero calls.
func (t *Table) FilterStats() (calls, negatives int64) {
	return filterStats(t.c == nil, func(c, n *C.int64_t) { C.strata_table_filter_stats(t.c, c, n) })
}

// Close releases the table. It fails with ErrIteratorsOpen while iterators are open.
func (t *Table) Close() error {
	if err := checkClose(t.c == nil, &t.iters); err != nil {
		return err
	}
	C.strata_table_close(t.c)
	t.c = nil
	return nil
}

// ReadTable opens the table at path and calls fn for every entry in order, then checks the
// iterator's status. k and v are valid only during the call. fn's error stops the walk and is
// returned.
func ReadTable(path string, o TableOptions, fn func(k, v []byte) error) error {
	t, err := OpenTable(path, o)
	if err != nil {
		return err
	}
	it := t.NewIterator()
	for ok := it.SeekToFirst(); ok; ok = it.Next() {
		if err = fn(it.Key(), it.Value()); err != nil {
			break
		}
	}
	err = errors.Join(err, it.Close(), t.Close())
	return err
}
