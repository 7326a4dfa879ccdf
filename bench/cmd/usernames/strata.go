package main

import (
	"fmt"
	"unsafe"

	"github.com/stratadb/strata/db"
	"github.com/stratadb/strata/internal/offheap"
)

// Strata's path: strataLoad is how it loads (strataBulk: DB.NewLoader, which takes the names
// unsorted; or strataBatches, as the other leveldbs), strataCheck how it looks names up
// (DB.HasMany on each chunk, in the file's order; or DB.Has per name of a sorted chunk). Both
// open the DB under Options.MemoryBudget.
var (
	strataLoad  = strataBulk
	strataCheck = newStrataManyChecker
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
		name:         "strata",
		load:         func(dir string, p memPlan) (loader, error) { return strataLoad.open(dir, p) },
		loadChunk:    func(p memPlan) int64 { return strataLoad.chunk(p) },
		verify:       func(dir string, p memPlan) (checker, error) { return strataCheck(dir, p) },
		verifyChunk:  strataVerifyChunk,
		verifySlices: true,
		memory: func(p memPlan) string {
			return fmt.Sprintf("load: %s; verify: DB.HasMany on chunks of %s (their names' slices included; and %s for HasMany's answers and sort), MemoryBudget %s, BlockCacheSize 1 MiB",
				strataLoad.memory(p), mib(strataVerifyChunk(p)), mib(strataVerifyChunk(p)*strataManyCost/(avgLine+sliceBytes)), mib(strataVerifyBudget(p)))
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
// buffer, and the DB's memory budget is the rest of the chunk's share, the memtables' and the
// cache's; the loader asks for buffers as large as can be, and gets what the budget leaves it
// (BlockCacheSize and WriteBufferSize are set small, since a load uses neither).
var strataBulk = strataLoadPath{
	name:  "bulk",
	open:  newStrataBulkLoader,
	chunk: strataBulkChunk,
	memory: func(p memPlan) string {
		return fmt.Sprintf("DB.NewLoader under MemoryBudget %s (BlockCacheSize 1 MiB, WriteBufferSize 1 MiB; the loader's two buffers get what the budget leaves)",
			mib(strataBulkBudget(p)))
	},
}

func strataBulkChunk(p memPlan) int64 { return min(p.LoadChunk, 16<<20) }

func strataBulkBudget(p memPlan) int64 {
	return p.LoadChunk - strataBulkChunk(p) + p.Memtables + p.LoadCache
}

// strataBulkLoader puts every name into one Loader and commits it: the tables it installs are
// synced, and so is the MANIFEST edit that names them, when Commit returns.
type strataBulkLoader struct {
	d *db.DB
	l *db.Loader
}

func newStrataBulkLoader(dir string, p memPlan) (loader, error) {
	d, err := db.Open(dir, &db.Options{ErrorIfExists: true, MemoryBudget: strataBulkBudget(p),
		BlockCacheSize: 1 << 20, WriteBufferSize: 1 << 20})
	if err != nil {
		return nil, err
	}
	l, err := d.NewLoader(&db.LoaderOptions{BufferSize: 1 << 30})
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

// Strata's verify reads the tables past its block cache (ReadOptions.DontFillCache: a batch
// reads each block once), so the cache's share goes to the batch instead: the fewer the
// batches, the fewer times each block is read and decoded (each batch reads nearly every block
// of a DB of 100,000,000 names). The batch takes about seven tenths of the budget: the chunk
// (its lines, and the names' slices HasMany takes: 36 bytes a name) two fifths, and HasMany's
// own memory (strataManyCost bytes a name) about three quarters as much again; the DB's budget
// takes an eighth, for its filters and indexes and mapped tables.
func strataVerifyChunk(p memPlan) int64  { return p.Budget * 2 / 5 }
func strataVerifyBudget(p memPlan) int64 { return p.Budget / 8 }

// strataManyCost is what HasMany's batch costs a name beyond the chunk: 1 byte of answer, 24
// of sort entry, and about 1 of the sort's scratch (names spread over 37 first characters).
const strataManyCost = 26

// strataManyChecker looks the names of a chunk up with one DB.HasMany call, in the file's order
// (HasMany sorts the batch itself, and splits it across the cores).
type strataManyChecker struct {
	d        *db.DB
	found    []bool         // HasMany's answers, in foundMem
	foundMem offheap.Buffer // outside the Go heap, as the chunk's names
}

// newStrataManyChecker opens the DB under a memory budget of the verify's cache share.
func newStrataManyChecker(dir string, p memPlan) (checker, error) {
	d, err := db.Open(dir, &db.Options{ErrorIfMissing: true, MemoryBudget: strataVerifyBudget(p), BlockCacheSize: 1 << 20})
	if err != nil {
		return nil, err
	}
	return &strataManyChecker{d: d}, nil
}

func (s *strataManyChecker) check(c *chunk, missing func([]byte), done func(int)) error {
	names := c.names // the adapter sets verifySlices: the chunk holds the slices HasMany takes
	if cap(s.found) < len(names) {
		s.foundMem.Free()
		s.foundMem = offheap.Alloc(len(names))
		s.found = unsafe.Slice((*bool)(unsafe.Pointer(unsafe.SliceData(s.foundMem.Bytes()))), len(names))
	}
	s.found = s.found[:len(names)]
	if err := s.d.HasMany(names, &db.ReadOptions{DontFillCache: true}, s.found); err != nil {
		return err
	}
	for i, ok := range s.found {
		if !ok {
			missing(names[i])
		}
	}
	done(c.Len())
	return nil
}

func (s *strataManyChecker) close() error {
	s.found = nil
	s.foundMem.Free()
	return s.d.Close()
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
