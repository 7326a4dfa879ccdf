package engine

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

func init() {
	register(&Engine{
		Name:    "bbolt",
		Title:   "bbolt",
		Version: moduleVersion("go.etcd.io/bbolt"),
		Open:    openBbolt,
		// Out of "all": a B+tree, compared with Strata in a table of its own.
		NamedOnly: true,
	})
}

// bboltBucket is the one bucket that holds every key.
var bboltBucket = []byte("kv")

type bboltDB struct {
	d    *bolt.DB
	path string
	opts *bolt.Options // to reopen it in CompactAll
}

// openBbolt opens (or creates) dir/bbolt.db, a B+tree in one memory-mapped file with one
// writer at a time, and its one bucket. Of Settings, only BlockSize has a counterpart, the page
// size (4 KiB, bbolt's default on this machine too). What could not be matched:
//   - No write buffer: every commit writes the pages it changed to free pages (copy-on-write),
//     then a meta page; there is no log and no memtable.
//   - No block cache: reads go through the file's mapping, so the operating system's page
//     cache is bbolt's only cache, as large as memory allows.
//   - No compression and no bloom filter; one file, so no open-file limit and no table size.
//
// Kept at bbolt's defaults: the array freelist, written at every commit (NoFreelistSync off),
// a synced grow of the file (NoGrowSync off), pages split half full (FillPercent 0.5).
func openBbolt(dir string, s Settings) (DB, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	b := &bboltDB{
		path: filepath.Join(dir, "bbolt.db"),
		opts: &bolt.Options{PageSize: s.BlockSize},
	}
	if err := b.open(); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *bboltDB) open() error {
	d, err := bolt.Open(b.path, 0o644, b.opts)
	if err != nil {
		return err
	}
	err = d.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bboltBucket)
		return err
	})
	if err != nil {
		d.Close()
		return err
	}
	b.d = d
	return nil
}

func (b *bboltDB) Put(key, value []byte, sync bool) error {
	return b.update(sync, func(bk *bolt.Bucket) error { return bk.Put(key, value) })
}

func (b *bboltDB) Delete(key []byte, sync bool) error {
	return b.update(sync, func(bk *bolt.Bucket) error { return bk.Delete(key) })
}

// update runs fn in a read-write transaction of its own, as db_bench writes one batch per
// operation. bbolt syncs a commit (its pages, then its meta page, each followed by
// fdatasync) unless the DB's NoSync field is set, which it reads only while committing. The
// field is set here inside the transaction: bbolt runs one read-write transaction at a time,
// from Begin to the end of Commit, so no other commit reads it between this write and this
// commit. An unsynced write is the same commit without the two fdatasyncs.
func (b *bboltDB) update(sync bool, fn func(bk *bolt.Bucket) error) error {
	return b.d.Update(func(tx *bolt.Tx) error {
		b.d.NoSync = !sync
		return fn(tx.Bucket(bboltBucket))
	})
}

// Get copies the value out of the read transaction: bbolt's slice points into the mapping and
// is valid only while the transaction is open.
func (b *bboltDB) Get(key []byte) (value []byte, found bool, err error) {
	err = b.d.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bboltBucket).Get(key)
		value, found = bytes.Clone(v), v != nil
		return nil
	})
	return value, found, err
}

func (b *bboltDB) NewBatch() Batch { return &opBatch{} }

// Write applies the batch as one read-write transaction, atomic as a leveldb batch.
func (b *bboltDB) Write(batch Batch, sync bool) error {
	return b.update(sync, func(bk *bolt.Bucket) error {
		return batch.(*opBatch).each(bk.Put, bk.Delete)
	})
}

// NewIterator opens a read transaction that the iterator keeps until Close. While it is open
// bbolt cannot reuse the pages that later commits free, and a commit that must grow the
// mapping waits for it to close.
func (b *bboltDB) NewIterator() (Iterator, error) {
	tx, err := b.d.Begin(false)
	if err != nil {
		return nil, err
	}
	return &bboltIter{tx: tx, c: tx.Bucket(bboltBucket).Cursor()}, nil
}

// CompactAll rewrites the file without its free pages, as bbolt's own compact command does
// (bolt.Compact into a new file that replaces the old one): bbolt frees the pages of every
// commit at once and has nothing like an LSM compaction, so this is its counterpart of
// leveldb's CompactRange and of SQLite's VACUUM. It closes and reopens the DB, so it must not
// run with other calls on the DB.
func (b *bboltDB) CompactAll() error {
	tmp := b.path + ".compact"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	dst, err := bolt.Open(tmp, 0o644, b.opts)
	if err != nil {
		return err
	}
	// Commits of at most 4 MiB of keys and values, as the memtable of the LSM engines.
	if err := bolt.Compact(dst, b.d, 4<<20); err != nil {
		dst.Close()
		os.Remove(tmp)
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}
	if err := b.d.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, b.path); err != nil {
		return err
	}
	return b.open()
}

// TableBytes is the size of the file up to its last page, in use or free, by bbolt's own
// account (Tx.Size). bbolt grows the file ahead of that, doubling it up to 1 GiB, with a
// truncate that writes nothing; the pages past the last one hold no data.
func (b *bboltDB) TableBytes() (n int64, err error) {
	err = b.d.View(func(tx *bolt.Tx) error {
		n = tx.Size()
		return nil
	})
	return n, err
}

func (b *bboltDB) Close() error { return b.d.Close() }

// bboltIter moves a bbolt cursor. Key and Value point into the mapping and stay valid until
// the transaction ends with Close.
type bboltIter struct {
	tx         *bolt.Tx
	c          *bolt.Cursor
	key, value []byte // nil when not at an entry
}

func (i *bboltIter) First() bool          { return i.at(i.c.First()) }
func (i *bboltIter) Last() bool           { return i.at(i.c.Last()) }
func (i *bboltIter) Seek(key []byte) bool { return i.at(i.c.Seek(key)) }

func (i *bboltIter) Next() bool {
	if !i.Valid() {
		return false
	}
	return i.at(i.c.Next())
}

func (i *bboltIter) Prev() bool {
	if !i.Valid() {
		return false
	}
	return i.at(i.c.Prev())
}

// at makes key and value the current entry; a nil key is past either end.
func (i *bboltIter) at(key, value []byte) bool {
	i.key, i.value = key, value
	return key != nil
}

func (i *bboltIter) Valid() bool   { return i.key != nil }
func (i *bboltIter) Key() []byte   { return i.key }
func (i *bboltIter) Value() []byte { return i.value }
func (i *bboltIter) Error() error  { return nil }
func (i *bboltIter) Close() error  { return i.tx.Rollback() }
