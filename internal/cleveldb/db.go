//go:build cleveldb

package cleveldb

// #include <stdlib.h>
// #include "glue.h"
import "C"

import (
	"bytes"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Options mirrors the leveldb::Options that matter to Strata's tests and benchmarks. Numeric
// fields left at zero keep leveldb's defaults (write buffer 4 MiB, block 4 KiB, 1000 open files,
// 2 MiB files, restart interval 16, an 8 MiB block cache). Note that the zero Compression is
// false, which is kNoCompression, unlike leveldb's default.
type Options struct {
	CreateIfMissing, ErrorIfExists, ParanoidChecks bool

	WriteBufferSize      int
	BlockSize            int
	MaxOpenFiles         int
	MaxFileSize          int
	BlockRestartInterval int
	BlockCacheSize       int // 0 = leveldb's default cache

	Compression     bool // snappy
	BloomBitsPerKey int  // 0 = no filter policy
	// CountFilter wraps the bloom policy (which needs BloomBitsPerKey > 0) in one that keeps
	// its name, "leveldb.BuiltinBloomFilter2", so it reads filters anyone wrote under that name,
	// and counts its KeyMayMatch calls; see (*DB).FilterStats.
	CountFilter bool

	// VerifyChecksums sets ReadOptions.verify_checksums for every Get and iterator.
	VerifyChecksums bool
}

func (o *Options) c() (C.strata_db_options, error) {
	if o.CountFilter && o.BloomBitsPerKey <= 0 {
		return C.strata_db_options{}, &Error{Code: InvalidArgument,
			Msg: "Invalid argument: CountFilter needs BloomBitsPerKey > 0"}
	}
	return C.strata_db_options{
		create_if_missing:      cbool(o.CreateIfMissing),
		error_if_exists:        cbool(o.ErrorIfExists),
		paranoid_checks:        cbool(o.ParanoidChecks),
		compression:            cbool(o.Compression),
		write_buffer_size:      C.int64_t(o.WriteBufferSize),
		block_size:             C.int64_t(o.BlockSize),
		max_open_files:         C.int64_t(o.MaxOpenFiles),
		max_file_size:          C.int64_t(o.MaxFileSize),
		block_restart_interval: C.int64_t(o.BlockRestartInterval),
		block_cache_size:       C.int64_t(o.BlockCacheSize),
		bloom_bits_per_key:     C.int(o.BloomBitsPerKey),
		count_filter:           cbool(o.CountFilter),
		verify_checksums:       cbool(o.VerifyChecksums),
	}, nil
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// DB is an open C++ leveldb database.
type DB struct {
	c     *C.strata_db
	iters atomic.Int64 // open iterators

	// mu guards free, the scratch buffers (a std::string for Get, a WriteBatch for Write) not
	// in use by a call; they are reused so that Get and Write allocate nothing in C.
	mu   sync.Mutex
	free []*C.strata_scratch
}

// Open opens (or, with CreateIfMissing, creates) the leveldb database in dir.
func Open(dir string, o Options) (*DB, error) {
	co, err := o.c()
	if err != nil {
		return nil, err
	}
	c, err := openC(func(code *C.int, msg **C.char) *C.strata_db {
		return C.strata_db_open(cstring(dir), C.size_t(len(dir)), &co, code, msg)
	})
	if err != nil {
		return nil, err
	}
	return &DB{c: c}, nil
}

// Close closes the database. It fails with ErrIteratorsOpen while iterators are open.
func (d *DB) Close() error {
	if err := checkClose(d.c == nil, &d.iters); err != nil {
		return err
	}
	C.strata_db_close(d.c)
	d.c = nil
	d.mu.Lock()
	for _, s := range d.free {
		C.strata_scratch_free(s)
	}
	d.free = nil
	d.mu.Unlock()
	return nil
}

func (d *DB) getScratch() *C.strata_scratch {
	d.mu.Lock()
	if n := len(d.free); n > 0 {
		s := d.free[n-1]
		d.free = d.free[:n-1]
		d.mu.Unlock()
		return s
	}
	d.mu.Unlock()
	return C.strata_scratch_new()
}

func (d *DB) putScratch(s *C.strata_scratch) {
	d.mu.Lock()
	d.free = append(d.free, s)
	d.mu.Unlock()
}

// Put sets key to value; with sync, the write is synced to disk before Put returns.
func (d *DB) Put(key, value []byte, sync bool) error {
	if d.c == nil {
		return ErrClosed
	}
	var msg *C.char
	code := C.strata_db_put(d.c, cbytes(key), C.size_t(len(key)), cbytes(value),
		C.size_t(len(value)), cbool(sync), &msg)
	return statusError(code, msg)
}

// Delete removes key; deleting an absent key is not an error.
func (d *DB) Delete(key []byte, sync bool) error {
	if d.c == nil {
		return ErrClosed
	}
	var msg *C.char
	code := C.strata_db_delete(d.c, cbytes(key), C.size_t(len(key)), cbool(sync), &msg)
	return statusError(code, msg)
}

// Write applies the batch atomically, as one leveldb::WriteBatch.
func (d *DB) Write(b *Batch, sync bool) error {
	if d.c == nil {
		return ErrClosed
	}
	s := d.getScratch()
	var msg *C.char
	code := C.strata_db_write(d.c, s, cbytes(b.rep), C.size_t(len(b.rep)), cbool(sync), &msg)
	d.putScratch(s)
	return statusError(code, msg)
}

// Get returns a copy of key's value. found is false (with a nil error) when key is absent.
func (d *DB) Get(key []byte) (value []byte, found bool, err error) {
	if d.c == nil {
		return nil, false, ErrClosed
	}
	s := d.getScratch()
	var v, msg *C.char
	var vl C.size_t
	code := C.strata_db_get(d.c, s, cbytes(key), C.size_t(len(key)), &v, &vl, &msg)
	if code == C.STRATA_OK {
		value = bytes.Clone(goView(v, vl))
		if value == nil {
			value = []byte{}
		}
	}
	d.putScratch(s)
	if code == C.STRATA_NOT_FOUND {
		return nil, false, nil
	}
	if err := statusError(code, msg); err != nil {
		return nil, false, err
	}
	return value, true, nil
}

// NewIterator returns an iterator over the whole database, initially not positioned. Close it
// before closing the DB.
func (d *DB) NewIterator() *Iterator {
	if d.c == nil {
		return &Iterator{err: ErrClosed}
	}
	return newIterator(C.strata_db_iter(d.c), &d.iters)
}

// CompactRange compacts the key range [start, limit]; a nil bound is unbounded.
func (d *DB) CompactRange(start, limit []byte) error {
	if d.c == nil {
		return ErrClosed
	}
	C.strata_db_compact_range(d.c, cbytes(start), C.size_t(len(start)), cbool(start != nil),
		cbytes(limit), C.size_t(len(limit)), cbool(limit != nil))
	return nil
}

// Property returns the value of a leveldb property such as "leveldb.stats" or
// "leveldb.num-files-at-level0"; ok is false for an unknown name.
func (d *DB) Property(name string) (value string, ok bool) {
	if d.c == nil {
		return "", false
	}
	p := C.strata_db_property(d.c, cstring(name), C.size_t(len(name)))
	if p == nil {
		return "", false
	}
	defer C.free(unsafe.Pointer(p))
	return C.GoString(p), true
}

// Range is a key range [Start, Limit) for GetApproximateSizes.
type Range struct{ Start, Limit []byte }

// GetApproximateSizes returns, for each range, leveldb's estimate of the bytes of table files
// it covers (memtable data is not counted).
func (d *DB) GetApproximateSizes(ranges []Range) ([]uint64, error) {
	if d.c == nil {
		return nil, ErrClosed
	}
	if len(ranges) == 0 {
		return nil, nil
	}
	// The bounds travel as one buffer and offsets: Go memory passed to C may not hold Go
	// pointers, so a slice of slices cannot cross.
	var keys []byte
	offs := make([]int64, 0, 2*len(ranges)+1)
	offs = append(offs, 0)
	for _, r := range ranges {
		keys = append(keys, r.Start...)
		offs = append(offs, int64(len(keys)))
		keys = append(keys, r.Limit...)
		offs = append(offs, int64(len(keys)))
	}
	sizes := make([]uint64, len(ranges))
	C.strata_db_approximate_sizes(d.c, cbytes(keys), (*C.int64_t)(unsafe.Pointer(&offs[0])),
		C.int(len(ranges)), (*C.uint64_t)(unsafe.Pointer(&sizes[0])))
	return sizes, nil
}

// FilterStats returns how many times leveldb asked the counting filter policy whether a key
// may be in a table (calls) and how many of those the filter answered no (negatives). Both are
// zero unless the DB was opened with CountFilter.
func (d *DB) FilterStats() (calls, negatives int64) {
	return filterStats(d.c == nil, func(c, n *C.int64_t) { C.strata_db_filter_stats(d.c, c, n) })
}

// Repair runs leveldb::RepairDB on dir with the given options.
func Repair(dir string, o Options) error {
	return onDir(dir, o, func(d *C.char, n C.size_t, co *C.strata_db_options, msg **C.char) C.int {
		return C.strata_repair(d, n, co, msg)
	})
}

// Destroy runs leveldb::DestroyDB on dir, removing the database's files.
func Destroy(dir string, o Options) error {
	return onDir(dir, o, func(d *C.char, n C.size_t, co *C.strata_db_options, msg **C.char) C.int {
		return C.strata_destroy(d, n, co, msg)
	})
}

// filterStats reads a counting filter policy's counters with get; a closed DB or Table has
// none.
func filterStats(closed bool, get func(calls, negatives *C.int64_t)) (calls, negatives int64) {
	if closed {
		return 0, 0
	}
	var c, n C.int64_t
	get(&c, &n)
	return int64(c), int64(n)
}

// onDir runs fn, a glue.h function over the database in dir that returns a status, with dir and
// o in their C form, and turns the status into an error.
func onDir(dir string, o Options, fn func(d *C.char, n C.size_t, co *C.strata_db_options, msg **C.char) C.int) error {
	co, err := o.c()
	if err != nil {
		return err
	}
	var msg *C.char
	return statusError(fn(cstring(dir), C.size_t(len(dir)), &co, &msg), msg)
}
