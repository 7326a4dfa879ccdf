package engine

import (
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

func init() {
	register(&Engine{
		Name:    "badger",
		Title:   "badger",
		Version: moduleVersion("github.com/dgraph-io/badger/v4"),
		Open:    openBadger,
		// Out of "all": compared on transactions, and cmd/amp cannot count its writes.
		NamedOnly: true,
	})
}

// minBadgerMemTable is the smallest memtable the adapter gives badger. Badger refuses a
// transaction, and so a batch, of more than 15% of its memtable or more than one entry per 96
// bytes of that 15% (ErrTxnTooBig): at 4 MiB, 629 KB and 6,553 entries. Below about 1 MiB
// fillbatch's 1000-entry batches would not fit, below 4 MiB the conformance test's
// 5000-entry batch.
const minBadgerMemTable = 4 << 20

type badgerDB struct {
	d    *badger.DB
	opts badger.Options // to reopen it in CompactAll
}

// badgerLogger keeps badger's informational lines off the benchmark's output.
type badgerLogger struct{}

func (badgerLogger) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "badger: "+format, args...)
}
func (badgerLogger) Warningf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "badger: "+format, args...)
}
func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}

// openBadger maps Settings onto badger's options, with leveldb's shape where badger has a
// counterpart:
//   - The memtable is WriteBufferSize (4 MiB), not badger's default 64 MiB, so that every
//     engine keeps as much unflushed: at --num 1000000 (116 MB of keys and values) a 64 MiB
//     memtable would hold most of the DB, and at --num 200000 all of it, and badger would be
//     measured as a memory store against LSM trees. It is never below minBadgerMemTable.
//   - One memtable waits to be flushed at most (NumMemtables 1; badger's default is 5), as
//     leveldb's one immutable memtable; level 0 compacts at 4 tables and stops writes at 12;
//     tables are 2 MiB on every level (TableSizeMultiplier 1, badger's default doubles them);
//     10 MiB at the base level, x10 per level, 7 levels (badger's defaults).
//   - The bloom filter: badger sizes it from a false-positive rate fp, with ceil(-log2 fp)
//     bits per key; fp = 2^-(bits-0.5) gives BloomBitsPerKey bits exactly (0.01, its default,
//     would give 7).
//   - Snappy compression, 4 KiB blocks, an 8 MiB block cache, as the others; badger keeps
//     every table's index and filter in memory (IndexCacheSize 0) and has no open-file limit.
//
// Values up to 512 KiB stay in the LSM tree (ValueThreshold; badger's default, 1 MiB, may not
// pass the batch limit, 629 KB at 4 MiB): every value of the workloads does (fill100K's are
// 100,000 bytes), so the value log holds none and badger is an LSM tree as the others. Kept at
// badger's defaults: SyncWrites false (a synced write is the write then DB.Sync, see Put), conflict detection
// on (DetectConflicts), metrics on. Not matched: badger runs 2 compactors, the fewest it
// allows (leveldb one compaction at a time); its level 0 has no slowdown trigger.
func openBadger(dir string, s Settings) (DB, error) {
	o := badger.DefaultOptions(dir).
		WithLogger(badgerLogger{}).
		WithMemTableSize(int64(max(s.WriteBufferSize, minBadgerMemTable))).
		WithNumMemtables(1).
		WithNumLevelZeroTables(4).
		WithNumLevelZeroTablesStall(12).
		WithBaseTableSize(int64(s.MaxFileSize)).
		WithBaseLevelSize(10 << 20).
		WithLevelSizeMultiplier(10).
		WithBlockSize(s.BlockSize).
		WithBlockCacheSize(int64(s.BlockCacheSize)).
		WithNumCompactors(2).
		WithValueThreshold(512 << 10).
		WithCompactL0OnClose(true).
		WithSyncWrites(false).
		WithDetectConflicts(true).
		WithCompression(options.None)
	o.TableSizeMultiplier = 1
	o.BloomFalsePositive = 0 // no filter
	if s.BloomBitsPerKey > 0 {
		o.BloomFalsePositive = math.Pow(2, -(float64(s.BloomBitsPerKey) - 0.5))
	}
	if s.Compression {
		o = o.WithCompression(options.Snappy)
	}
	d, err := badger.Open(o)
	if err != nil {
		return nil, err
	}
	return &badgerDB{d: d, opts: o}, nil
}

// Put writes in a transaction of its own. Badger syncs writes or not for the whole DB
// (SyncWrites), so a synced Put is the write, then DB.Sync: its memtable's log and value log
// synced. Concurrent synced writes are synced one by one, not by group as leveldb's.
func (b *badgerDB) Put(key, value []byte, sync bool) error {
	return b.update(sync, func(txn *badger.Txn) error { return txn.Set(key, value) })
}

func (b *badgerDB) Delete(key []byte, sync bool) error {
	return b.update(sync, func(txn *badger.Txn) error { return txn.Delete(key) })
}

// update runs fn in a read-write transaction that reads nothing, so it never conflicts.
func (b *badgerDB) update(sync bool, fn func(txn *badger.Txn) error) error {
	if err := b.d.Update(fn); err != nil {
		return err
	}
	if sync {
		return b.d.Sync()
	}
	return nil
}

func (b *badgerDB) Get(key []byte) ([]byte, bool, error) {
	txn := b.d.NewTransaction(false)
	defer txn.Discard()
	return badgerGet(txn, key)
}

// badgerGet looks key up in txn and copies its value out.
func badgerGet(txn *badger.Txn, key []byte) ([]byte, bool, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	v, err := item.ValueCopy(nil)
	return v, err == nil, err
}

func (b *badgerDB) NewBatch() Batch { return &opBatch{} }

// Write applies the batch as one transaction, atomic as a leveldb batch; a batch past badger's
// limit (see minBadgerMemTable) fails with badger.ErrTxnTooBig.
func (b *badgerDB) Write(batch Batch, sync bool) error {
	return b.update(sync, func(txn *badger.Txn) error {
		return batch.(*opBatch).each(txn.Set, txn.Delete)
	})
}

// Update runs fn in badger's DB.Update, which detects conflicts (badger's default), and runs it
// again while the commit fails with badger.ErrConflict.
func (b *badgerDB) Update(fn func(tx Txn) error) (conflicts int, err error) {
	for {
		err := b.d.Update(func(txn *badger.Txn) error { return fn(badgerTxn{txn}) })
		if !errors.Is(err, badger.ErrConflict) {
			return conflicts, err
		}
		conflicts++
	}
}

type badgerTxn struct{ txn *badger.Txn }

func (t badgerTxn) Get(key []byte) ([]byte, bool, error) { return badgerGet(t.txn, key) }

// Put sets key in the transaction, which keeps key and value until it ends: the caller must
// not change them before Update returns.
func (t badgerTxn) Put(key, value []byte) error { return t.txn.Set(key, value) }

func (b *badgerDB) NewIterator() (Iterator, error) {
	txn := b.d.NewTransaction(false)
	return &badgerIter{txn: txn, fwd: txn.NewIterator(badgerIterOptions(false))}, nil
}

// badgerIterOptions fetch no value ahead: every value is in the LSM tree (see openBadger), and
// prefetching would read 100 entries for each seekrandom's one.
func badgerIterOptions(reverse bool) badger.IteratorOptions {
	o := badger.DefaultIteratorOptions
	o.PrefetchValues = false
	o.Reverse = reverse
	return o
}

// CompactAll closes badger, whose Close flushes the memtable into level 0 (badger has no other
// way to flush it), reopens it and flattens the tree into one level (DB.Flatten). It must not
// run with other calls on the DB.
func (b *badgerDB) CompactAll() error {
	if err := b.d.Close(); err != nil {
		return err
	}
	d, err := badger.Open(b.opts)
	if err != nil {
		return err
	}
	b.d = d
	return d.Flatten(2)
}

// TableBytes adds up the on-disk sizes of badger's live tables.
func (b *badgerDB) TableBytes() (int64, error) {
	var total int64
	for _, t := range b.d.Tables() {
		total += int64(t.OnDiskSize)
	}
	return total, nil
}

func (b *badgerDB) Close() error { return b.d.Close() }

// badgerIter moves in both directions over one read transaction with two badger iterators, as
// a badger iterator goes one way: fwd, and rev, made at the first backward move. Changing
// direction seeks the other iterator to the current key and steps past it. Key and Value are
// copies, valid until the next move.
type badgerIter struct {
	txn        *badger.Txn
	fwd, rev   *badger.Iterator
	cur        *badger.Iterator // the one positioned at the current entry; nil before a move
	key, value []byte
	valid      bool
	err        error
}

func (i *badgerIter) First() bool {
	i.fwd.Rewind()
	return i.load(i.fwd)
}

func (i *badgerIter) Last() bool {
	i.reverse().Rewind()
	return i.load(i.rev)
}

func (i *badgerIter) Seek(key []byte) bool {
	i.fwd.Seek(key)
	return i.load(i.fwd)
}

func (i *badgerIter) Next() bool {
	if !i.valid {
		return false
	}
	if i.cur != i.fwd {
		i.fwd.Seek(i.key)
		if !i.fwd.Valid() || string(i.fwd.Item().Key()) != string(i.key) {
			return i.load(i.fwd) // the current key sorts before fwd's
		}
	}
	i.fwd.Next()
	return i.load(i.fwd)
}

func (i *badgerIter) Prev() bool {
	if !i.valid {
		return false
	}
	if i.cur != i.rev {
		i.reverse().Seek(i.key) // the last key at or before i.key
		if !i.rev.Valid() || string(i.rev.Item().Key()) != string(i.key) {
			return i.load(i.rev)
		}
	}
	i.rev.Next()
	return i.load(i.rev)
}

func (i *badgerIter) reverse() *badger.Iterator {
	if i.rev == nil {
		i.rev = i.txn.NewIterator(badgerIterOptions(true))
	}
	return i.rev
}

// load makes the entry at it the current one.
func (i *badgerIter) load(it *badger.Iterator) bool {
	i.cur = it
	i.valid = it.Valid()
	if !i.valid {
		return false
	}
	item := it.Item()
	i.key = item.KeyCopy(i.key[:0])
	i.value, i.err = item.ValueCopy(i.value[:0])
	if i.err != nil {
		i.valid = false
	}
	return i.valid
}

func (i *badgerIter) Valid() bool   { return i.valid }
func (i *badgerIter) Key() []byte   { return i.key }
func (i *badgerIter) Value() []byte { return i.value }
func (i *badgerIter) Error() error  { return i.err }

func (i *badgerIter) Close() error {
	i.fwd.Close()
	if i.rev != nil {
		i.rev.Close()
	}
	i.txn.Discard()
	return i.err
}
