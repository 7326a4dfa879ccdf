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

// table is an open table file and its reader.
type table struct {
	*sstable.Reader
	f vfs.File
}

// Close closes the reader, then the file.
func (t *table) Close() error {
	err := t.Reader.Close()
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// tableCache keeps up to MaxOpenFiles-10 tables open, least recently used closed first, and
// never closes a table a reader holds.
type tableCache struct {
	fs   vfs.FS
	dir  string
	opts sstable.ReaderOptions // FileNum filled per table
	c    *cache.TableCache[*table]
}

func newTableCache(fs vfs.FS, dir string, capacity int, opts sstable.ReaderOptions, onErr func(uint64, error)) *tableCache {
	tc := &tableCache{fs: fs, dir: dir, opts: opts}
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
	r, err := sstable.Open(f, path, st.Size(), ro)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &table{Reader: r, f: f}, nil
}

// acquire returns table num with a reference; release it with Release.
func (tc *tableCache) acquire(num uint64) (*cache.Handle[*table], error) { return tc.c.Acquire(num) }

// evict drops table num, whose file is being deleted; it closes once unreferenced.
func (tc *tableCache) evict(num uint64) { tc.c.Evict(num) }

func (tc *tableCache) close() error { return tc.c.Close() }

// stats returns the cache's state and counters.
func (tc *tableCache) stats() cache.TableCacheStats { return tc.c.Stats() }
