package db

import (
	"errors"
	"os"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/sstable/cache"
	"github.com/stratadb/strata/vfs"
)

// table is an open table file and its reader, and what it counts in the memory budget.
type table struct {
	*sstable.Reader
	f            vfs.File
	budget       *memBudget
	mapped, heap int64
}

// Close closes the reader, then the file.
func (t *table) Close() error {
	t.budget.releaseTable(t.mapped, t.heap)
	err := t.Reader.Close()
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// tableCache keeps up to MaxOpenFiles-10 tables open, least recently used closed first, and
// never closes a table a reader holds.
//
// Under a memory budget, a table is mapped only while the mapped files' sizes stay within the
// budget's share (memBudget.reserveMapping); the others are read with ReadAt.
type tableCache struct {
	fs     vfs.FS
	dir    string
	budget *memBudget
	opts   sstable.ReaderOptions // FileNum filled per table
	c      *cache.TableCache[*table]
}

func newTableCache(fs vfs.FS, dir string, capacity int, budget *memBudget, opts sstable.ReaderOptions, onErr func(uint64, error)) *tableCache {
	tc := &tableCache{fs: fs, dir: dir, budget: budget, opts: opts}
	tc.c = cache.NewTableCache[*table](capacity, tc.open, cache.OnCloseError(onErr))
	return tc
}

// open opens table num, under its .ldb name or the older .sst one.
func (tc *tableCache) open(num uint64) (*table, error) {
	path := filenames.Path(tc.dir, filenames.Table, num)
	f, err := tc.fs.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		legacy := filenames.LegacyTablePath(tc.dir, num)
		if lf, lerr := tc.fs.Open(legacy); lerr == nil {
			path, f, err = legacy, lf, nil
		}
	}
	if err != nil {
		return nil, dberr.Wrap(err, "open table %06d", num)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, dberr.Wrap(err, "stat table %s", path)
	}
	ro := tc.opts
	ro.FileNum = num
	file, mapped := f, int64(0)
	if _, ok := f.(vfs.Mappable); ok {
		if tc.budget.reserveMapping(st.Size()) {
			mapped = st.Size()
		} else {
			file = unmappedFile{f}
		}
	}
	r, err := sstable.Open(file, path, st.Size(), ro)
	if err != nil {
		tc.budget.releaseTable(mapped, 0)
		f.Close()
		return nil, err
	}
	if !r.Mapped() && mapped > 0 { // mapping failed: read with ReadAt
		tc.budget.releaseTable(mapped, 0)
		mapped = 0
	}
	heap := int64(r.MemoryUsage())
	tc.budget.addTable(heap)
	return &table{Reader: r, f: f, budget: tc.budget, mapped: mapped, heap: heap}, nil
}

// acquire returns table num with a reference; release it with Release.
func (tc *tableCache) acquire(num uint64) (*cache.Handle[*table], error) { return tc.c.Acquire(num) }

// evict drops table num, whose file is being deleted; it closes once unreferenced.
func (tc *tableCache) evict(num uint64) { tc.c.Evict(num) }

func (tc *tableCache) close() error { return tc.c.Close() }

// stats returns the cache's state and counters.
func (tc *tableCache) stats() cache.TableCacheStats { return tc.c.Stats() }
