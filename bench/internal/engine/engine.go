// Package engine puts the storage engines that bench/ compares behind one small interface, so a
// workload is written once and every engine runs exactly the same calls: the LSM trees Strata,
// goleveldb, pebble, badger and, when built with the cleveldb tag, C++ leveldb 1.23 through
// internal/cleveldb and, with the crocksdb tag, RocksDB 7.8 through bench/internal/crocksdb;
// and the B+trees bbolt and SQLite (modernc.org/sqlite, pure Go). The engines with optimistic
// transactions (Strata and badger) also implement Transactor.
//
// Every engine is opened with the same Settings (leveldb's defaults: 4 MiB write buffer, 8 MiB
// block cache, 4 KiB blocks, snappy, 10-bit bloom filters, 1000 open files, 2 MiB tables), and
// each adapter maps them onto its engine's options and says in a comment what it could not
// match (docs/benchmarks.md lists the same).
//
// Contract of every adapter, checked by the conformance test:
//  1. Get returns a slice the caller owns; an absent key is found == false with a nil error.
//  2. Write applies a batch atomically; a batch may be Reset and reused after Write returns.
//  3. An Iterator starts unpositioned; every move returns Valid(); Key and Value are valid until
//     the next move; iterators are closed before the DB.
//  4. CompactAll compacts every key, memtable included, down to the engine's last level, and
//     returns when done; afterwards TableBytes counts only live tables.
//  5. A DB is safe for concurrent Put, Delete, Write, Get and NewIterator (and Update, for a
//     Transactor); a Batch or an Iterator belongs to one goroutine.
//  6. A Transactor's Update is serializable: a transaction whose reads were written by another
//     since it began does not commit, and runs again.
package engine

import (
	"fmt"
	"slices"
	"strings"
)

// Settings are the options every engine is opened with.
type Settings struct {
	WriteBufferSize int  // bytes of memtable before a flush
	BlockCacheSize  int  // bytes of the block cache
	BlockSize       int  // target size of a data block, before compression
	BloomBitsPerKey int  // bits per key of the bloom filter; 0 = no filter
	Compression     bool // snappy
	MaxOpenFiles    int
	MaxFileSize     int // bytes of a table before compaction starts the next one
}

// DefaultSettings are leveldb 1.23's defaults plus a 10-bit bloom filter and snappy: the
// settings of every comparison in bench/.
func DefaultSettings() Settings {
	return Settings{
		WriteBufferSize: 4 << 20,
		BlockCacheSize:  8 << 20,
		BlockSize:       4 << 10,
		BloomBitsPerKey: 10,
		Compression:     true,
		MaxOpenFiles:    1000,
		MaxFileSize:     2 << 20,
	}
}

// DB is an open database of one engine.
type DB interface {
	Put(key, value []byte, sync bool) error
	Delete(key []byte, sync bool) error
	// Get returns a copy of key's value; found is false, with a nil error, when key is absent.
	Get(key []byte) (value []byte, found bool, err error)
	NewBatch() Batch
	// Write applies b, which must come from this DB's NewBatch, atomically.
	Write(b Batch, sync bool) error
	NewIterator() (Iterator, error)
	// CompactAll compacts the whole key space (leveldb's CompactRange(nil, nil)).
	CompactAll() error
	// TableBytes is the total size of the live table files, by the engine's own accounting.
	TableBytes() (int64, error)
	Close() error
}

// Transactor is implemented by the engines with serializable read-write transactions, both
// optimistic: Strata's and badger's.
type Transactor interface {
	// Update runs fn in a new transaction and commits it, unsynced. When the commit fails
	// because something the transaction read was written since it began, Update runs fn again
	// in a new transaction, until one commits or fn fails; conflicts counts the runs that
	// failed so. fn must leave the slices it passes to Put unchanged until Update returns.
	Update(fn func(tx Txn) error) (conflicts int, err error)
}

// Txn is a transaction of a Transactor: it reads the DB as of its start, plus its own writes.
type Txn interface {
	// Get returns a copy of key's value; found is false, with a nil error, when key is absent.
	// The read is one the commit checks, found or not.
	Get(key []byte) (value []byte, found bool, err error)
	Put(key, value []byte) error
}

// MappedWriter is implemented by engines that write some files through shared memory mappings
// (Strata's log), so that a count of the bytes handed to write(2), such as /proc/self/io's
// wchar, misses them: MappedBytes returns how many bytes they wrote that way since Open, Close
// included (it may be called after Close).
type MappedWriter interface {
	MappedBytes() int64
}

// Batch collects puts and deletes for DB.Write.
type Batch interface {
	Put(key, value []byte)
	Delete(key []byte)
	Len() int
	Reset()
}

// Iterator walks a DB in key order.
type Iterator interface {
	First() bool
	Last() bool
	Seek(key []byte) bool // to the first key at or after key
	Next() bool
	Prev() bool
	Valid() bool
	Key() []byte
	Value() []byte
	Error() error
	Close() error
}

// Engine describes one engine.
type Engine struct {
	// Name is as used on command lines: strata, goleveldb, pebble, badger, cleveldb, rocksdb,
	// bbolt, sqlite.
	Name    string
	Title   string // as printed in tables: "C++ leveldb"
	Version string // module version or library version
	Open    func(dir string, s Settings) (DB, error)
	// NamedOnly keeps the engine out of All, and so out of "all": it runs only where a list
	// names it. Badger is: it is compared on transactions, which only it and Strata have, and
	// it writes its logs and tables through mappings that cmd/amp's count of written bytes
	// does not see. bbolt and SQLite are: they are B+trees, compared with Strata in a table of
	// their own rather than among the LSM trees.
	NamedOnly bool
}

// order is the order engines are listed in, whatever order their files register them in.
var order = []string{"strata", "goleveldb", "pebble", "badger", "cleveldb", "rocksdb", "bbolt", "sqlite"}

var registered = map[string]*Engine{}

func register(e *Engine) { registered[e.Name] = e }

// All returns the engines compiled into this binary, Strata first, less those that run only
// when named (NamedOnly).
func All() []*Engine {
	var out []*Engine
	for _, e := range Every() {
		if !e.NamedOnly {
			out = append(out, e)
		}
	}
	return out
}

// Every returns every engine compiled into this binary, Strata first.
func Every() []*Engine {
	var out []*Engine
	for _, n := range order {
		if e, ok := registered[n]; ok {
			out = append(out, e)
		}
	}
	return out
}

// Names returns the names of Every.
func Names() []string {
	var out []string
	for _, e := range Every() {
		out = append(out, e.Name)
	}
	return out
}

// Versions lists es as "Title version; Title version", for a report.
func Versions(es []*Engine) string {
	var parts []string
	for _, e := range es {
		parts = append(parts, e.Title+" "+e.Version)
	}
	return strings.Join(parts, "; ")
}

// Lookup returns the engine called name, or an error saying which engines this binary has
// (cleveldb needs the cleveldb build tag, rocksdb the crocksdb tag).
func Lookup(name string) (*Engine, error) {
	if e, ok := registered[name]; ok {
		return e, nil
	}
	hint := ""
	switch name {
	case "cleveldb":
		hint = " (build with -tags cleveldb)"
	case "rocksdb":
		hint = " (build with -tags crocksdb)"
	}
	return nil, fmt.Errorf("unknown engine %q%s; this binary has %s", name, hint, strings.Join(Names(), ", "))
}

// ParseList turns a comma-separated list of engine names into engines, in the order given;
// "all" or "" means All (every engine but badger, bbolt and SQLite).
func ParseList(list string) ([]*Engine, error) {
	if list == "" || list == "all" {
		return All(), nil
	}
	var out []*Engine
	var seen []string
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if n == "" || slices.Contains(seen, n) {
			continue
		}
		e, err := Lookup(n)
		if err != nil {
			return nil, err
		}
		seen = append(seen, n)
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no engines in %q", list)
	}
	return out, nil
}

// writeOptions is an engine's write options for an unsynced write and for a synced one, made
// once so that a write allocates none.
type writeOptions[T any] struct{ noSync, sync *T }

// pick returns the options for a write that syncs or not.
func (w writeOptions[T]) pick(sync bool) *T {
	if sync {
		return w.sync
	}
	return w.noSync
}
