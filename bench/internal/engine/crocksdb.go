//go:build crocksdb

package engine

import (
	"os/exec"
	"strconv"
	"strings"

	"github.com/stratadb/strata/bench/internal/crocksdb"
)

func init() {
	register(&Engine{
		Name:    "rocksdb",
		Title:   "RocksDB",
		Version: rocksdbVersion(),
		Open:    openRocksdb,
	})
}

// rocksdbVersion asks dpkg which librocksdb the binding links against.
func rocksdbVersion() string {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", "librocksdb-dev").Output()
	if err != nil || len(out) == 0 {
		return "7.8 (librocksdb-dev)"
	}
	return "librocksdb-dev " + strings.TrimSpace(string(out))
}

type rocksdbDB struct{ d *crocksdb.DB }

// openRocksdb gives RocksDB leveldb's shape: two memtables of WriteBufferSize (leveldb's
// mutable and immutable one), level 0 compacted at 4 files, slowed at 8 and stopped at 12,
// 10 MiB at level 1 and x10 per level (static level sizes, RocksDB 7.8's default), tables of
// MaxFileSize on every level, snappy, a full bloom filter of BloomBitsPerKey bits per key on
// every table, an LRU block cache of BlockCacheSize, BlockSize blocks, MaxOpenFiles. What
// differs is RocksDB's own: its default background jobs (two, flushes apart from
// compactions), its format of tables (block-based, format version 5, one full filter per
// table rather than leveldb's filter per 2 KiB of data), its compaction picker, and the
// binding: one cgo call per operation (two for Get), and Get copies the value into Go memory.
func openRocksdb(dir string, s Settings) (DB, error) {
	d, err := crocksdb.Open(dir, crocksdb.Options{
		CreateIfMissing:                true,
		WriteBufferSize:                s.WriteBufferSize,
		MaxWriteBufferNumber:           2,
		Level0FileNumCompactionTrigger: 4,
		Level0SlowdownWritesTrigger:    8,
		Level0StopWritesTrigger:        12,
		MaxBytesForLevelBase:           10 << 20,
		MaxBytesForLevelMultiplier:     10,
		TargetFileSizeBase:             int64(s.MaxFileSize),
		MaxOpenFiles:                   s.MaxOpenFiles,
		Compression:                    s.Compression,
		BloomBitsPerKey:                max(s.BloomBitsPerKey, 0),
		BlockCacheSize:                 s.BlockCacheSize,
		BlockSize:                      s.BlockSize,
	})
	if err != nil {
		return nil, err
	}
	return &rocksdbDB{d: d}, nil
}

func (r *rocksdbDB) Put(key, value []byte, sync bool) error { return r.d.Put(key, value, sync) }
func (r *rocksdbDB) Delete(key []byte, sync bool) error     { return r.d.Delete(key, sync) }
func (r *rocksdbDB) Get(key []byte) ([]byte, bool, error)   { return r.d.Get(key) }
func (r *rocksdbDB) NewBatch() Batch                        { return &crocksdb.Batch{} }

func (r *rocksdbDB) Write(b Batch, sync bool) error {
	return r.d.Write(b.(*crocksdb.Batch), sync)
}

func (r *rocksdbDB) NewIterator() (Iterator, error) {
	it := r.d.NewIterator()
	if err := it.Error(); err != nil {
		it.Close()
		return nil, err
	}
	return it, nil
}

func (r *rocksdbDB) CompactAll() error { return r.d.CompactRange() }

// TableBytes is RocksDB's rocksdb.live-sst-files-size: the tables of the current version,
// without the obsolete ones it has yet to delete.
func (r *rocksdbDB) TableBytes() (int64, error) {
	p, _ := r.d.Property("rocksdb.live-sst-files-size")
	return strconv.ParseInt(p, 10, 64)
}

func (r *rocksdbDB) Close() error { return r.d.Close() }
