//go:build crocksdb

package crocksdb

// #include <stdlib.h>
// #include "glue.h"
import "C"

import (
	"bytes"
	"sync/atomic"
	"unsafe"
)

// Options are the rocksdb::Options (and block-based table options) bench/ sets. A numeric field
// left at zero keeps RocksDB's default; the zero Compression is false, no compression, unlike
// RocksDB's default (snappy).
type Options struct {
	CreateIfMissing bool

	WriteBufferSize                int     // write_buffer_size: bytes of one memtable
	MaxWriteBufferNumber           int     // max_write_buffer_number: memtables before writes stop
	Level0FileNumCompactionTrigger int     // level0_file_num_compaction_trigger
	Level0SlowdownWritesTrigger    int     // level0_slowdown_writes_trigger
	Level0StopWritesTrigger        int     // level0_stop_writes_trigger
	MaxBytesForLevelBase           int64   // max_bytes_for_level_base: bytes of level 1
	MaxBytesForLevelMultiplier     float64 // max_bytes_for_level_multiplier
	TargetFileSizeBase             int64   // target_file_size_base: bytes of a table
	MaxOpenFiles                   int     // max_open_files

	Compression     bool // snappy on every level
	BloomBitsPerKey int  // 0 = no filter
	BlockCacheSize  int  // bytes of an LRU block cache; 0 = RocksDB's default (32 MiB)
	BlockSize       int  // block_size
}

// DB is an open RocksDB database.
type DB struct {
	c           *C.rocksdb_t
	opts        *C.rocksdb_options_t
	ro          *C.rocksdb_readoptions_t
	wo, woSync  *C.rocksdb_writeoptions_t
	iters       atomic.Int64 // open iterators
	closed      bool
	optsCleanup func()
}

// Open opens (or, with CreateIfMissing, creates) the RocksDB database in dir.
func Open(dir string, o Options) (*DB, error) {
	opts, cleanup := o.c()
	cdir := C.CString(dir)
	defer C.free(unsafe.Pointer(cdir))
	var msg *C.char
	c := C.rocksdb_open(opts, cdir, &msg)
	if err := errorOf(msg); err != nil {
		cleanup()
		return nil, err
	}
	d := &DB{
		c:           c,
		opts:        opts,
		ro:          C.rocksdb_readoptions_create(),
		wo:          C.rocksdb_writeoptions_create(),
		woSync:      C.rocksdb_writeoptions_create(),
		optsCleanup: cleanup,
	}
	C.rocksdb_writeoptions_set_sync(d.woSync, 1)
	return d, nil
}

// c makes o's rocksdb_options_t, and a function that frees it and what it refers to.
func (o *Options) c() (*C.rocksdb_options_t, func()) {
	opts := C.rocksdb_options_create()
	C.rocksdb_options_set_create_if_missing(opts, cbool(o.CreateIfMissing))
	if o.WriteBufferSize > 0 {
		C.rocksdb_options_set_write_buffer_size(opts, C.size_t(o.WriteBufferSize))
	}
	if o.MaxWriteBufferNumber > 0 {
		C.rocksdb_options_set_max_write_buffer_number(opts, C.int(o.MaxWriteBufferNumber))
	}
	if o.Level0FileNumCompactionTrigger > 0 {
		C.rocksdb_options_set_level0_file_num_compaction_trigger(opts, C.int(o.Level0FileNumCompactionTrigger))
	}
	if o.Level0SlowdownWritesTrigger > 0 {
		C.rocksdb_options_set_level0_slowdown_writes_trigger(opts, C.int(o.Level0SlowdownWritesTrigger))
	}
	if o.Level0StopWritesTrigger > 0 {
		C.rocksdb_options_set_level0_stop_writes_trigger(opts, C.int(o.Level0StopWritesTrigger))
	}
	if o.MaxBytesForLevelBase > 0 {
		C.rocksdb_options_set_max_bytes_for_level_base(opts, C.uint64_t(o.MaxBytesForLevelBase))
	}
	if o.MaxBytesForLevelMultiplier > 0 {
		C.rocksdb_options_set_max_bytes_for_level_multiplier(opts, C.double(o.MaxBytesForLevelMultiplier))
	}
	if o.TargetFileSizeBase > 0 {
		C.rocksdb_options_set_target_file_size_base(opts, C.uint64_t(o.TargetFileSizeBase))
	}
	if o.MaxOpenFiles != 0 {
		C.rocksdb_options_set_max_open_files(opts, C.int(o.MaxOpenFiles))
	}
	compression := C.rocksdb_no_compression
	if o.Compression {
		compression = C.rocksdb_snappy_compression
	}
	C.rocksdb_options_set_compression(opts, C.int(compression))

	table := C.rocksdb_block_based_options_create()
	if o.BlockSize > 0 {
		C.rocksdb_block_based_options_set_block_size(table, C.size_t(o.BlockSize))
	}
	if o.BloomBitsPerKey > 0 {
		// The table options take the policy over and free it with themselves.
		C.rocksdb_block_based_options_set_filter_policy(table,
			C.rocksdb_filterpolicy_create_bloom_full(C.double(o.BloomBitsPerKey)))
	}
	var cache *C.rocksdb_cache_t
	if o.BlockCacheSize > 0 {
		cache = C.rocksdb_cache_create_lru(C.size_t(o.BlockCacheSize))
		C.rocksdb_block_based_options_set_block_cache(table, cache)
	}
	C.rocksdb_options_set_block_based_table_factory(opts, table)
	return opts, func() {
		C.rocksdb_options_destroy(opts)
		C.rocksdb_block_based_options_destroy(table)
		if cache != nil {
			C.rocksdb_cache_destroy(cache)
		}
	}
}

// Close closes the database. It fails with ErrIteratorsOpen while iterators are open.
func (d *DB) Close() error {
	if d.closed {
		return ErrClosed
	}
	if d.iters.Load() != 0 {
		return ErrIteratorsOpen
	}
	d.closed = true
	C.rocksdb_close(d.c)
	C.rocksdb_readoptions_destroy(d.ro)
	C.rocksdb_writeoptions_destroy(d.wo)
	C.rocksdb_writeoptions_destroy(d.woSync)
	d.optsCleanup()
	return nil
}

func (d *DB) writeOptions(sync bool) *C.rocksdb_writeoptions_t {
	if sync {
		return d.woSync
	}
	return d.wo
}

// Put sets key to value; with sync, the write is synced to disk before Put returns.
func (d *DB) Put(key, value []byte, sync bool) error {
	if d.closed {
		return ErrClosed
	}
	var msg *C.char
	C.rocksdb_put(d.c, d.writeOptions(sync), cbytes(key), C.size_t(len(key)), cbytes(value),
		C.size_t(len(value)), &msg)
	return errorOf(msg)
}

// Delete removes key; deleting an absent key is not an error.
func (d *DB) Delete(key []byte, sync bool) error {
	if d.closed {
		return ErrClosed
	}
	var msg *C.char
	C.rocksdb_delete(d.c, d.writeOptions(sync), cbytes(key), C.size_t(len(key)), &msg)
	return errorOf(msg)
}

// Write applies the batch atomically, as one rocksdb::WriteBatch.
func (d *DB) Write(b *Batch, sync bool) error {
	if d.closed {
		return ErrClosed
	}
	rep := b.encoded()
	var msg *C.char
	C.strata_rocks_write_rep(d.c, d.writeOptions(sync), cbytes(rep), C.size_t(len(rep)), &msg)
	return errorOf(msg)
}

// Get returns a copy of key's value. found is false (with a nil error) when key is absent.
func (d *DB) Get(key []byte) (value []byte, found bool, err error) {
	if d.closed {
		return nil, false, ErrClosed
	}
	var n C.size_t
	var msg *C.char
	v := C.rocksdb_get(d.c, d.ro, cbytes(key), C.size_t(len(key)), &n, &msg)
	if err := errorOf(msg); err != nil {
		return nil, false, err
	}
	if v == nil {
		return nil, false, nil
	}
	value = bytes.Clone(goView(v, n))
	C.rocksdb_free(unsafe.Pointer(v))
	if value == nil {
		value = []byte{}
	}
	return value, true, nil
}

// NewIterator returns an iterator over the whole database as of now, initially not positioned.
// Close it before closing the DB.
func (d *DB) NewIterator() *Iterator {
	if d.closed {
		return &Iterator{err: ErrClosed}
	}
	c := C.strata_rocks_iter_new(d.c, d.ro)
	if c == nil {
		return &Iterator{err: &Error{Msg: "out of memory for an iterator"}}
	}
	d.iters.Add(1)
	return &Iterator{c: c, owner: &d.iters}
}

// CompactRange compacts the whole key space, memtable included (rocksdb_compact_range with
// no bounds and RocksDB's default CompactRangeOptions), and returns when it is done.
func (d *DB) CompactRange() error {
	if d.closed {
		return ErrClosed
	}
	C.rocksdb_compact_range(d.c, nil, 0, nil, 0)
	return nil
}

// Property returns the value of a RocksDB property such as "rocksdb.live-sst-files-size"; ok is
// false for an unknown name.
func (d *DB) Property(name string) (value string, ok bool) {
	if d.closed {
		return "", false
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	p := C.rocksdb_property_value(d.c, cname)
	if p == nil {
		return "", false
	}
	defer C.rocksdb_free(unsafe.Pointer(p))
	return C.GoString(p), true
}
