package engine

import (
	"errors"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/filter"
	"github.com/syndtr/goleveldb/leveldb/iterator"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/util"
)

func init() {
	register(&Engine{
		Name:    "goleveldb",
		Title:   "goleveldb",
		Version: moduleVersion("github.com/syndtr/goleveldb"),
		Open:    openGoleveldb,
	})
}

type goleveldbDB struct{ d *leveldb.DB }

func openGoleveldb(dir string, s Settings) (DB, error) {
	o := &opt.Options{
		WriteBuffer:                   s.WriteBufferSize,
		BlockCacheCapacity:            s.BlockCacheSize,
		BlockSize:                     s.BlockSize,
		OpenFilesCacheCapacity:        s.MaxOpenFiles,
		CompactionTableSize:           s.MaxFileSize,
		CompactionTableSizeMultiplier: 1,
		CompactionTotalSize:           10 << 20,
		CompactionTotalSizeMultiplier: 10,
		CompactionL0Trigger:           4,
		WriteL0SlowdownTrigger:        8,
		WriteL0PauseTrigger:           12,
		Compression:                   opt.NoCompression,
	}
	if s.Compression {
		o.Compression = opt.SnappyCompression
	}
	if s.BloomBitsPerKey > 0 {
		o.Filter = filter.NewBloomFilter(s.BloomBitsPerKey)
	}
	d, err := leveldb.OpenFile(dir, o)
	if err != nil {
		return nil, err
	}
	return &goleveldbDB{d: d}, nil
}

var goleveldbWO = writeOptions[opt.WriteOptions]{noSync: &opt.WriteOptions{}, sync: &opt.WriteOptions{Sync: true}}

func (g *goleveldbDB) Put(key, value []byte, sync bool) error {
	return g.d.Put(key, value, goleveldbWO.pick(sync))
}

func (g *goleveldbDB) Delete(key []byte, sync bool) error {
	return g.d.Delete(key, goleveldbWO.pick(sync))
}

func (g *goleveldbDB) Get(key []byte) ([]byte, bool, error) {
	v, err := g.d.Get(key, nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

func (g *goleveldbDB) NewBatch() Batch { return &leveldb.Batch{} }

func (g *goleveldbDB) Write(b Batch, sync bool) error {
	return g.d.Write(b.(*leveldb.Batch), goleveldbWO.pick(sync))
}

func (g *goleveldbDB) NewIterator() (Iterator, error) {
	return &goleveldbIter{it: g.d.NewIterator(nil, nil)}, nil
}

func (g *goleveldbDB) CompactAll() error { return g.d.CompactRange(util.Range{}) }

func (g *goleveldbDB) TableBytes() (int64, error) {
	var st leveldb.DBStats
	if err := g.d.Stats(&st); err != nil {
		return 0, err
	}
	return st.LevelSizes.Sum(), nil
}

func (g *goleveldbDB) Close() error { return g.d.Close() }

// goleveldbIter renames goleveldb's moves (Seek is already leveldb's SeekGE).
type goleveldbIter struct{ it iterator.Iterator }

func (i *goleveldbIter) First() bool          { return i.it.First() }
func (i *goleveldbIter) Last() bool           { return i.it.Last() }
func (i *goleveldbIter) Seek(key []byte) bool { return i.it.Seek(key) }
func (i *goleveldbIter) Next() bool           { return i.it.Next() }
func (i *goleveldbIter) Prev() bool           { return i.it.Prev() }
func (i *goleveldbIter) Valid() bool          { return i.it.Valid() }
func (i *goleveldbIter) Key() []byte          { return i.it.Key() }
func (i *goleveldbIter) Value() []byte        { return i.it.Value() }
func (i *goleveldbIter) Error() error         { return i.it.Error() }

func (i *goleveldbIter) Close() error {
	err := i.it.Error()
	i.it.Release()
	return err
}
