//go:build cleveldb

package main

import (
	"fmt"

	"github.com/stratadb/strata/internal/cleveldb"
)

func init() {
	adapters["cleveldb"] = &adapter{
		name:      "cleveldb",
		load:      newCleveldbLoader,
		verify:    newCleveldbChecker,
		outsideGo: cleveldbOutsideGo,
		memory: func(p memPlan) string {
			return fmt.Sprintf("load: write_buffer_size %s (a memtable and the immutable one being flushed), block cache %s; verify: write_buffer_size default (4 MiB), block cache %s; C++ memory, outside the Go heap's limit",
				mib(cleveldbWriteBuffer(p)), mib(p.LoadCache), mib(p.VerifyCache))
		},
	}
}

// cleveldbWriteBuffer keeps C++ leveldb's two memtables within p.Memtables.
func cleveldbWriteBuffer(p memPlan) int64 { return p.Memtables / 2 }

// cleveldbOutsideGo is what C++ leveldb allocates in the load and in the verify: its memtables
// and its block cache.
func cleveldbOutsideGo(p memPlan) (load, verify int64) {
	return p.Memtables + p.LoadCache, p.VerifyCache + 2*(4<<20)
}

// cleveldbOptions are the options of both phases: snappy and a 10-bit bloom filter, the rest
// leveldb's defaults.
func cleveldbOptions(writeBuffer, cache int64) cleveldb.Options {
	return cleveldb.Options{
		WriteBufferSize: int(writeBuffer),
		BlockCacheSize:  int(cache),
		Compression:     true,
		BloomBitsPerKey: 10,
	}
}

// cleveldbBatches is C++ leveldb's DB for a batchLoader, with batches of up to 16 MiB, each one
// cgo call.
type cleveldbBatches struct {
	d    *cleveldb.DB
	b    cleveldb.Batch
	size int // encoded bytes of b, as leveldb's WriteBatch counts them
}

func (c *cleveldbBatches) put(name []byte) {
	c.b.Put(name, nil)
	c.size += 3 + len(name) // tag, two one-byte lengths, the key
}
func (c *cleveldbBatches) batchLen() int  { return c.b.Len() }
func (c *cleveldbBatches) batchSize() int { return c.size }
func (c *cleveldbBatches) close() error   { return c.d.Close() }

func (c *cleveldbBatches) write(sync bool) error {
	err := c.d.Write(&c.b, sync)
	c.b.Reset()
	c.size = 0
	return err
}

func newCleveldbLoader(dir string, p memPlan) (loader, error) {
	wb := cleveldbWriteBuffer(p)
	o := cleveldbOptions(wb, p.LoadCache)
	o.CreateIfMissing, o.ErrorIfExists = true, true
	d, err := cleveldb.Open(dir, o)
	if err != nil {
		return nil, err
	}
	return &batchLoader{d: &cleveldbBatches{d: d}, target: batchTarget(wb, 16<<20)}, nil
}

// newCleveldbChecker looks each name of a sorted chunk up with DB.Get (one cgo call each).
func newCleveldbChecker(dir string, p memPlan) (checker, error) {
	d, err := cleveldb.Open(dir, cleveldbOptions(4<<20, p.VerifyCache))
	if err != nil {
		return nil, err
	}
	return &lookupChecker{
		has: func(name []byte) (bool, error) {
			_, found, err := d.Get(name)
			return found, err
		},
		closeDB: d.Close,
	}, nil
}
