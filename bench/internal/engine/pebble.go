package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable"
)

func init() {
	register(&Engine{
		Name:    "pebble",
		Title:   "pebble",
		Version: moduleVersion("github.com/cockroachdb/pebble/v2"),
		Open:    openPebble,
	})
}

type pebbleDB struct{ d *pebble.DB }

// pebbleLogger keeps pebble's informational lines off the benchmark's output.
type pebbleLogger struct{}

func (pebbleLogger) Infof(string, ...any) {}
func (pebbleLogger) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pebble: "+format+"\n", args...)
}
func (pebbleLogger) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pebble: "+format+"\n", args...)
	os.Exit(1)
}

// openPebble maps Settings onto pebble's options, with leveldb's level shape where pebble has
// a counterpart. What could not be matched:
//   - The memtable starts at 256 KiB and doubles up to MemTableSize; two memtables may exist
//     before writes stop (leveldb's one mutable and one immutable).
//   - L0 is counted in sublevels, not files; there is no slowdown trigger like leveldb's 8
//     files; the base level is dynamic.
//   - The block cache is 16 MiB, as pebble charges its two memtables to it (8 MiB for blocks).
//   - Kept at pebble's defaults for lack of a leveldb counterpart: the format major version
//     (FormatMinSupported, which writes row-oriented Pebblev2 tables without value blocks),
//     BytesPerSync (sync_file_range every 512 KiB of a table), WAL recycling, read-triggered
//     compactions, one compaction at a time.
//
// Set to match: a filter on every level (pebble's default has none), the 2 MiB target file
// size on every level (pebble's default doubles it per level), single-level indexes as
// leveldb's (IndexBlockSize unlimited; pebble would split the index at 4 KiB).
func openPebble(dir string, s Settings) (DB, error) {
	// pebble charges its memtables to the block cache: the mutable one and the immutable one
	// being flushed, or the one kept for recycling, 2 x 4 MiB in steady state. An 8 MiB cache
	// would hold no blocks at all; this one keeps 8 MiB for blocks, as the other engines'.
	cache := pebble.NewCache(int64(s.BlockCacheSize + 2*s.WriteBufferSize))
	defer cache.Unref() // the DB holds its own reference
	o := &pebble.Options{
		Cache:                       cache,
		MemTableSize:                uint64(s.WriteBufferSize),
		MemTableStopWritesThreshold: 2,
		MaxOpenFiles:                s.MaxOpenFiles,
		L0CompactionThreshold:       4,
		L0StopWritesThreshold:       12,
		LBaseMaxBytes:               10 << 20,
		Logger:                      pebbleLogger{},
	}
	o.Experimental.LevelMultiplier = 10
	var filterPolicy pebble.FilterPolicy
	if s.BloomBitsPerKey > 0 {
		filterPolicy = bloom.FilterPolicy(s.BloomBitsPerKey)
	}
	compression := sstable.NoCompression
	if s.Compression {
		compression = sstable.SnappyCompression
	}
	for i := range o.Levels {
		o.Levels[i] = pebble.LevelOptions{
			BlockRestartInterval: 16,
			BlockSize:            s.BlockSize,
			IndexBlockSize:       math.MaxInt32,
			Compression:          func() *sstable.CompressionProfile { return compression },
			FilterPolicy:         filterPolicy,
		}
		o.TargetFileSizes[i] = int64(s.MaxFileSize)
	}
	d, err := pebble.Open(dir, o)
	if err != nil {
		return nil, err
	}
	return &pebbleDB{d: d}, nil
}

var pebbleWO = writeOptions[pebble.WriteOptions]{noSync: pebble.NoSync, sync: pebble.Sync}

func (p *pebbleDB) Put(key, value []byte, sync bool) error {
	return p.d.Set(key, value, pebbleWO.pick(sync))
}

func (p *pebbleDB) Delete(key []byte, sync bool) error { return p.d.Delete(key, pebbleWO.pick(sync)) }

// Get copies the value out of pebble's memory, as leveldb's Get copies it into a std::string:
// every engine hands back a slice the caller owns.
func (p *pebbleDB) Get(key []byte) ([]byte, bool, error) {
	v, closer, err := p.d.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := append(make([]byte, 0, len(v)), v...)
	return out, true, closer.Close()
}

type pebbleBatch struct{ b *pebble.Batch }

func (b *pebbleBatch) Put(key, value []byte) { _ = b.b.Set(key, value, nil) }
func (b *pebbleBatch) Delete(key []byte)     { _ = b.b.Delete(key, nil) }
func (b *pebbleBatch) Len() int              { return int(b.b.Count()) }
func (b *pebbleBatch) Reset()                { b.b.Reset() }

func (p *pebbleDB) NewBatch() Batch { return &pebbleBatch{b: p.d.NewBatch()} }

func (p *pebbleDB) Write(b Batch, sync bool) error {
	return p.d.Apply(b.(*pebbleBatch).b, pebbleWO.pick(sync))
}

func (p *pebbleDB) NewIterator() (Iterator, error) {
	it, err := p.d.NewIter(nil)
	if err != nil {
		return nil, err
	}
	return &pebbleIter{it: it}, nil
}

// CompactAll flushes the memtable, then compacts from the smallest to the largest user key of
// any table (deleted keys included): pebble's Compact takes a bounded range.
func (p *pebbleDB) CompactAll() error {
	if err := p.d.Flush(); err != nil {
		return err
	}
	levels, err := p.d.SSTables()
	if err != nil {
		return err
	}
	var lo, hi []byte
	for _, tables := range levels {
		for _, t := range tables {
			if lo == nil || bytes.Compare(t.Smallest.UserKey, lo) < 0 {
				lo = t.Smallest.UserKey
			}
			if hi == nil || bytes.Compare(t.Largest.UserKey, hi) > 0 {
				hi = t.Largest.UserKey
			}
		}
	}
	if lo == nil {
		return nil // no tables
	}
	return p.d.Compact(context.Background(), lo, append(slices.Clip(hi), 0), false)
}

func (p *pebbleDB) TableBytes() (int64, error) {
	m := p.d.Metrics()
	var total int64
	for _, l := range m.Levels {
		total += l.TablesSize
	}
	return total, nil
}

func (p *pebbleDB) Close() error { return p.d.Close() }

// pebbleIter renames pebble's moves; Seek is SeekGE.
type pebbleIter struct{ it *pebble.Iterator }

func (i *pebbleIter) First() bool          { return i.it.First() }
func (i *pebbleIter) Last() bool           { return i.it.Last() }
func (i *pebbleIter) Seek(key []byte) bool { return i.it.SeekGE(key) }
func (i *pebbleIter) Next() bool           { return i.it.Next() }
func (i *pebbleIter) Prev() bool           { return i.it.Prev() }
func (i *pebbleIter) Valid() bool          { return i.it.Valid() }
func (i *pebbleIter) Key() []byte          { return i.it.Key() }
func (i *pebbleIter) Value() []byte        { return i.it.Value() }
func (i *pebbleIter) Error() error         { return i.it.Error() }
func (i *pebbleIter) Close() error         { return i.it.Close() }
