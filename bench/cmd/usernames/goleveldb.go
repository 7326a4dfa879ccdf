package main

import (
	"fmt"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/filter"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

func init() {
	adapters["goleveldb"] = &adapter{
		name:   "goleveldb",
		load:   newGoleveldbLoader,
		verify: newGoleveldbChecker,
		memory: func(p memPlan) string {
			return fmt.Sprintf("load: WriteBuffer %s (a memdb and the frozen one being flushed), BlockCacheCapacity %s; verify: WriteBuffer default (4 MiB), BlockCacheCapacity %s",
				mib(goleveldbWriteBuffer(p)), mib(p.LoadCache), mib(p.VerifyCache))
		},
	}
}

// goleveldbWriteBuffer keeps goleveldb's two memdbs within p.Memtables.
func goleveldbWriteBuffer(p memPlan) int64 { return p.Memtables / 2 }

// goleveldbOptions are the options of both phases: a 10-bit bloom filter (goleveldb has none by
// default), the rest goleveldb's defaults.
func goleveldbOptions(writeBuffer, cache int64) *opt.Options {
	return &opt.Options{
		WriteBuffer:        int(writeBuffer),
		BlockCacheCapacity: int(cache),
		Filter:             filter.NewBloomFilter(10),
	}
}

// goleveldbBatches is goleveldb's DB for a batchLoader, with batches of up to 16 MiB (large, and
// below the write buffer, past which goleveldb writes a batch as a transaction).
type goleveldbBatches struct {
	d *leveldb.DB
	b leveldb.Batch
}

func (g *goleveldbBatches) put(name []byte) { g.b.Put(name, nil) }
func (g *goleveldbBatches) batchLen() int   { return g.b.Len() }
func (g *goleveldbBatches) batchSize() int  { return len(g.b.Dump()) }
func (g *goleveldbBatches) close() error    { return g.d.Close() }

func (g *goleveldbBatches) write(sync bool) error {
	err := g.d.Write(&g.b, &opt.WriteOptions{Sync: sync})
	g.b.Reset()
	return err
}

func newGoleveldbLoader(dir string, p memPlan) (loader, error) {
	wb := goleveldbWriteBuffer(p)
	o := goleveldbOptions(wb, p.LoadCache)
	o.ErrorIfExist = true
	d, err := leveldb.OpenFile(dir, o)
	if err != nil {
		return nil, err
	}
	return &batchLoader{d: &goleveldbBatches{d: d}, target: batchTarget(wb, 16<<20)}, nil
}

// newGoleveldbChecker looks each name of a sorted chunk up with DB.Has.
func newGoleveldbChecker(dir string, p memPlan) (checker, error) {
	o := goleveldbOptions(int64(opt.DefaultWriteBuffer), p.VerifyCache)
	o.ErrorIfMissing = true
	d, err := leveldb.OpenFile(dir, o)
	if err != nil {
		return nil, err
	}
	return &lookupChecker{
		has:     func(name []byte) (bool, error) { return d.Has(name, nil) },
		closeDB: d.Close,
	}, nil
}
