package main

import (
	"fmt"

	"github.com/stratadb/strata/db"
)

// Strata's path, and the place to switch it: strataLoad is how it loads (strataBatches, or
// strataBulk: DB.NewLoader, which takes the names unsorted), strataCheck how it looks names up
// (DB.Has per name of a sorted chunk; DB.HasMany, given each chunk in the file's order, is the
// batched lookup to put here).
var (
	strataLoad  = strataBatches
	strataCheck = newStrataHasChecker
)

// A strataLoadPath is one way for Strata to load: its loader, the tool's chunk it needs, and
// what it does with the budget.
type strataLoadPath struct {
	name   string
	open   func(dir string, p memPlan) (loader, error)
	chunk  func(p memPlan) int64
	memory func(p memPlan) string
}

func init() {
	adapters["strata"] = &adapter{
		name:      "strata",
		load:      func(dir string, p memPlan) (loader, error) { return strataLoad.open(dir, p) },
		loadChunk: func(p memPlan) int64 { return strataLoad.chunk(p) },
		verify:    func(dir string, p memPlan) (checker, error) { return strataCheck(dir, p) },
		memory: func(p memPlan) string {
			return fmt.Sprintf("load: %s; verify: WriteBufferSize default (4 MiB), BlockCacheSize %s",
				strataLoad.memory(p), mib(p.VerifyCache))
		},
	}
}

// strataBatches loads as the other leveldbs do: each chunk sorted, in batches of about 1 MiB
// (the most Strata's commit path puts in one group).
var strataBatches = strataLoadPath{
	name:  "batches",
	open:  newStrataBatchLoader,
	chunk: func(p memPlan) int64 { return p.LoadChunk },
	memory: func(p memPlan) string {
		return fmt.Sprintf("Batch writes, WriteBufferSize %s (a memtable's arena takes up to 1.5 times it, and up to three arenas exist: the memtable, the one being flushed, a spare), BlockCacheSize %s",
			mib(strataWriteBuffer(p)), mib(p.LoadCache))
	},
}

// strataWriteBuffer is the write buffer that keeps Strata's memtables within p.Memtables: three
// arenas of 1.5 times the buffer each.
func strataWriteBuffer(p memPlan) int64 { return p.Memtables * 2 / 9 }

// strataBatchDB is Strata's DB for a batchLoader.
type strataBatchDB struct {
	d *db.DB
	b db.Batch
}

func (s *strataBatchDB) put(name []byte) { s.b.Put(name, nil) }
func (s *strataBatchDB) batchLen() int   { return s.b.Len() }
func (s *strataBatchDB) batchSize() int  { return s.b.Size() }
func (s *strataBatchDB) close() error    { return s.d.Close() }

func (s *strataBatchDB) write(sync bool) error {
	err := s.d.Write(&s.b, &db.WriteOptions{Sync: sync})
	s.b.Reset()
	return err
}

func newStrataBatchLoader(dir string, p memPlan) (loader, error) {
	wb := strataWriteBuffer(p)
	d, err := db.Open(dir, &db.Options{
		ErrorIfExists:   true,
		WriteBufferSize: int(wb),
		BlockCacheSize:  int(p.LoadCache),
	})
	if err != nil {
		return nil, err
	}
	return &batchLoader{d: &strataBatchDB{d: d}, target: batchTarget(wb, 1<<20)}, nil
}

// strataBulk loads with DB.NewLoader: the names go in unsorted, the tool's chunk is only a read
// buffer, and the loader's two sort buffers take the rest of the chunk's share and the
// memtables' (no memtable is used).
var strataBulk = strataLoadPath{
	name:  "bulk",
	open:  newStrataBulkLoader,
	chunk: strataBulkChunk,
	memory: func(p memPlan) string {
		return fmt.Sprintf("DB.NewLoader, LoaderOptions.BufferSize %s (two buffers), BlockCacheSize %s",
			mib(strataBulkBuffer(p)), mib(p.LoadCache))
	},
}

func strataBulkChunk(p memPlan) int64 { return min(p.LoadChunk, 16<<20) }

func strataBulkBuffer(p memPlan) int64 {
	return (p.LoadChunk - strataBulkChunk(p) + p.Memtables) / 2
}

// strataBulkLoader puts every name into one Loader and commits it: the tables it installs are
// synced, and so is the MANIFEST edit that names them, when Commit returns.
type strataBulkLoader struct {
	d *db.DB
	l *db.Loader
}

func newStrataBulkLoader(dir string, p memPlan) (loader, error) {
	d, err := db.Open(dir, &db.Options{ErrorIfExists: true, BlockCacheSize: int(p.LoadCache)})
	if err != nil {
		return nil, err
	}
	l, err := d.NewLoader(&db.LoaderOptions{BufferSize: int(strataBulkBuffer(p))})
	if err != nil {
		d.Close()
		return nil, err
	}
	return &strataBulkLoader{d: d, l: l}, nil
}

func (s *strataBulkLoader) add(c *chunk, done func(int)) error {
	for i := range c.Len() {
		if err := s.l.Put(c.Name(i), nil); err != nil {
			return err
		}
		if i%progressStep == progressStep-1 {
			done(progressStep)
		}
	}
	done(c.Len() % progressStep)
	return nil
}

func (s *strataBulkLoader) finish() error {
	err := s.l.Commit()
	if cerr := s.d.Close(); err == nil {
		err = cerr
	}
	return err
}

// newStrataHasChecker looks each name of a sorted chunk up with DB.Has.
func newStrataHasChecker(dir string, p memPlan) (checker, error) {
	d, err := db.Open(dir, &db.Options{ErrorIfMissing: true, BlockCacheSize: int(p.VerifyCache)})
	if err != nil {
		return nil, err
	}
	return &lookupChecker{
		has:     func(name []byte) (bool, error) { return d.Has(name, nil) },
		closeDB: d.Close,
	}, nil
}
