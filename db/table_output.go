package db

import (
	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/vfs"
)

// tableOutput is a table being written by a flush or a compaction.
type tableOutput struct {
	d    *DB
	num  uint64
	path string
	f    vfs.File
	w    *sstable.Writer
}

// newTableOutput creates table num. The caller must have put num in pendingOutputs.
func (d *DB) newTableOutput(num uint64) (*tableOutput, error) {
	path := filenames.Path(d.dir, filenames.Table, num)
	f, err := d.fs.Create(path)
	if err != nil {
		return nil, dberr.Wrap(err, "create table %s", path)
	}
	return &tableOutput{d: d, num: num, path: path, f: f, w: sstable.NewWriter(f, d.tableWriterOptions())}, nil
}

func (t *tableOutput) add(key, value []byte) error { return t.w.Add(key, value) }

// finish completes the table, syncs and closes it, and reads it back once through the table
// cache, as leveldb does, so that a table that cannot be opened never enters the MANIFEST. It
// returns the table's metadata, or nil for a table without entries (which it removes). On error
// the file is removed.
func (t *tableOutput) finish() (*compaction.FileMetadata, error) {
	tm, err := t.w.Finish()
	if err == nil {
		err = t.f.Sync()
	}
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	if err == nil && tm.Entries == 0 {
		t.d.fs.Remove(t.path)
		return nil, nil
	}
	if err == nil {
		var h interface{ Release() }
		if h, err = t.d.tables.acquire(t.num); err == nil {
			h.Release()
		}
	}
	if err != nil {
		t.d.tables.evict(t.num)
		t.d.fs.Remove(t.path)
		return nil, dberr.Wrap(err, "write table %s", t.path)
	}
	return &compaction.FileMetadata{Num: t.num, Size: tm.Size, Smallest: tm.Smallest, Largest: tm.Largest}, nil
}

// abandon closes and removes an unfinished table.
func (t *tableOutput) abandon() {
	t.f.Close()
	t.d.fs.Remove(t.path)
}
