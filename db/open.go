package db

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/memtable"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/sstable/cache"
)

// Open opens the DB in dir, creating it (and dir) unless opts.ErrorIfMissing or opts.ReadOnly. A
// nil opts means all defaults. Open takes the directory's LOCK, so a second Open of dir, in this
// process or another (C++ leveldb included), fails with an error matching ErrLocked until Close;
// with ReadOnly it takes a shared lock instead, which other read-only Opens share and which
// excludes, both ways, every Open for writing (see Options.ReadOnly and readonly.go).
//
// An empty dir, or a dir that is a file, gives an error matching ErrInvalidArgument. With
// ErrorIfMissing or ReadOnly, a dir that holds no DB, or is missing, gives an error matching both
// ErrInvalidArgument and fs.ErrNotExist; with ErrorIfExists, a dir that holds one gives
// ErrInvalidArgument.
//
// Open recovers what the last process left: it reads CURRENT and the MANIFEST, replays the logs
// that are newer than the MANIFEST's log number into level-0 tables, and starts a fresh log and
// MANIFEST (with ReadOnly, it replays the logs into memtables and writes nothing). A missing
// CURRENT in a directory that holds DB files, a MANIFEST naming a missing table, or a comparator
// other than the one the DB was created with gives an error, and Open then changes nothing in
// the directory.
func Open(dir string, opts *Options) (*DB, error) {
	if dir == "" {
		return nil, dberr.InvalidArgf("open: the directory path is empty")
	}
	o := opts.sanitize()
	d := &DB{dir: dir, opts: o, fs: o.FS, icmp: keys.NewInternalComparator(o.Comparator), bgDone: make(chan struct{})}
	d.vopts = compaction.DefaultOptions()
	d.vopts.TargetFileSize = int64(o.MaxFileSize)
	d.info.logger = o.Logger
	if o.ReadOnly && o.Logger == nil {
		d.info.logger = discardLogger // there is no LOG to write to
	}
	d.events = newEventQueue(o.EventListener, d.info.Printf)
	d.vopts.Logf = d.info.Printf
	if o.BloomBitsPerKey > 0 {
		d.filter = sstable.NewBloomPolicy(o.BloomBitsPerKey)
	}
	d.mu.bgCond.L = &d.mu.Mutex
	d.commits = commitQueue{mu: &d.mu.Mutex, env: d}
	d.mu.snapshots.init()
	d.mu.pendingOutputs = make(map[uint64]struct{})

	if err := d.openDir(); err != nil {
		d.events.close()
		return nil, err
	}
	d.blocks = cache.NewBlockCache(o.BlockCacheSize)
	d.budget = newMemBudget(o.MemoryBudget, int64(o.BlockCacheSize), 3*int64(d.memFootprint()))
	d.tables = newTableCache(d.fs, dir, o.MaxOpenFiles-reservedFiles, d.budget, sstable.ReaderOptions{
		Comparator: d.icmp, Filter: d.filter, FilterKey: keys.UserKey, Cache: d.blocks,
	}, func(num uint64, err error) { d.info.Printf("closing table #%d: %v", num, err) })

	if err := d.recover(); err != nil {
		d.info.Printf("open %s failed: %v", dir, err)
		d.abandon()
		return nil, err
	}
	if o.ReadOnly {
		close(d.bgDone) // no background work: nothing flushes, compacts or deletes
		return d, nil
	}
	d.startBackground()
	d.mu.Lock()
	d.mu.bgCond.Broadcast() // the recovered tree may need compaction
	d.mu.Unlock()
	return d, nil
}

// openDir checks the options against the directory, creates it if allowed and takes its lock.
func (d *DB) openDir() error {
	if d.opts.ReadOnly {
		return d.openDirReadOnly()
	}
	fs, dir := d.fs, d.dir
	current := filepath.Join(dir, filenames.CurrentName)
	if d.opts.ErrorIfMissing {
		if _, err := fs.Stat(current); errors.Is(err, os.ErrNotExist) {
			// Both sentinels: the options do not fit the directory, and the DB does not exist.
			return dberr.Mark(errors.Join(ErrInvalidArgument, os.ErrNotExist),
				"strata: open %s: no DB there (ErrorIfMissing is set): %s does not exist", dir, current)
		}
	}
	fi, err := fs.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := fs.MkdirAll(dir, 0o755); err != nil {
			return dberr.Wrap(err, "create %s", dir)
		}
		// The new directory's own entry must be durable too, or a crash loses the whole DB.
		if err := fs.SyncDir(filepath.Dir(filepath.Clean(dir))); err != nil {
			return dberr.Wrap(err, "create %s", dir)
		}
	case err != nil:
		return dberr.Wrap(err, "open %s", dir)
	case !fi.IsDir():
		return dberr.InvalidArgf("open %s: not a directory", dir)
	}
	lock, err := fs.Lock(filepath.Join(dir, filenames.LockName))
	if err != nil {
		return dberr.Wrap(err, "open %s", dir)
	}
	d.lock = lock
	return nil
}

// abandon releases what a failed Open took.
func (d *DB) abandon() {
	if d.mu.vs != nil {
		d.mu.vs.Close()
	}
	if d.mu.log != nil {
		d.mu.log.f.Close()
	}
	d.tables.close()
	d.events.close()
	d.info.close()
	d.lock.Close()
}

// recover builds the DB's state from the directory; see Open.
func (d *DB) recover() error {
	fs, dir := d.fs, d.dir
	names, err := fs.List(dir)
	if err != nil {
		return fmt.Errorf("strata: open %s: %w", dir, err)
	}
	hasCurrent, err := d.checkListing(names)
	if err != nil {
		return err
	}
	if d.opts.ReadOnly {
		return d.recoverReadOnly(names)
	}

	var vs *compaction.VersionSet
	if hasCurrent {
		vs, err = compaction.Recover(fs, dir, d.icmp, d.vopts)
	} else {
		vs, err = compaction.Create(fs, dir, d.icmp, d.vopts)
	}
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mu.vs = vs
	if err := d.checkLiveFilesLocked(names); err != nil {
		return err
	}
	// Nothing has changed on disk so far. From here on recovery writes.
	d.info.attach(fs, dir)
	d.info.Printf("opening %s", dir)

	var edit compaction.VersionEdit
	flush := func(mem *memtable.MemTable, _ keys.SeqNum) error {
		_, err := d.writeLevel0TableLocked(mem.NewIterator(), nil, &edit)
		return err
	}
	if err := d.replayLogsLocked(names, flush); err != nil {
		return err
	}
	num := vs.NewFileNumber()
	log, err := d.createLog(num, false)
	if err != nil {
		return err
	}
	d.mu.log = log
	log.dirSynced = true // once LogAndApply returns
	edit.SetLogNum(num)  // LogAndApply syncs the directory, with the new log's entry, before CURRENT
	edit.SetPrevLogNum(0)
	if err := vs.LogAndApply(&edit, &d.mu.Mutex); err != nil {
		return err
	}
	for _, nf := range edit.NewFiles {
		delete(d.mu.pendingOutputs, nf.Meta.Num)
	}
	d.mu.mem = d.newMemTableLocked(0)
	d.stdMemCapacity = d.mu.mem.Capacity()
	d.lastSeq.Store(uint64(vs.LastSequence()))
	d.updateReadStateLocked()
	d.deleteObsoleteFilesLocked()
	d.info.Printf("opened %s: last sequence %d, log #%d, %s", dir, vs.LastSequence(), num, vs.Current())
	return nil
}

// checkListing looks at the names in the DB's directory and reports whether it holds CURRENT.
// It fails when the options do not fit what is there (ErrorIfExists, ErrorIfMissing, ReadOnly),
// or when DB files are there without CURRENT.
func (d *DB) checkListing(names []string) (hasCurrent bool, _ error) {
	dir := d.dir
	var dbFiles []string
	for _, n := range names {
		switch kind, _, _ := filenames.Parse(n); kind {
		case filenames.Current:
			hasCurrent = true
		case filenames.Manifest, filenames.Table, filenames.Log:
			dbFiles = append(dbFiles, n)
		}
	}
	if !hasCurrent && len(dbFiles) == 1 && dbFiles[0] == filenames.Name(filenames.Manifest, 1) {
		// A crash while the DB was being created: compaction.Create makes MANIFEST-000001
		// durable before it writes CURRENT. No log was ever made durable beside it, so nothing was
		// written to this DB: create it again (Create rewrites MANIFEST-000001) instead of
		// calling it damaged.
		if !d.opts.ReadOnly {
			d.info.Printf("%s: MANIFEST-000001 without CURRENT, a creation cut short; creating the DB again", dir)
		}
		dbFiles = nil
	}
	switch {
	case hasCurrent && d.opts.ErrorIfExists:
		return false, dberr.InvalidArgf("open %s: a DB exists there (ErrorIfExists)", dir)
	case !hasCurrent && len(dbFiles) > 0:
		return false, &dberr.CorruptionError{File: filepath.Join(dir, filenames.CurrentName), Offset: dberr.NoOffset,
			Reason: fmt.Sprintf("missing, but the directory holds DB files (%s); Repair can rebuild it",
				strings.Join(dbFiles[:min(len(dbFiles), 3)], ", "))}
	case !hasCurrent && d.opts.ReadOnly:
		return false, errNoDBReadOnly(dir, filepath.Join(dir, filenames.CurrentName))
	case !hasCurrent && d.opts.ErrorIfMissing:
		return false, dberr.InvalidArgf("open %s: no DB there (ErrorIfMissing)", dir)
	}
	return hasCurrent, nil
}

// checkLiveFilesLocked fails when a table the MANIFEST names is not in the directory.
func (d *DB) checkLiveFilesLocked(names []string) error {
	live := make(map[uint64]struct{})
	d.mu.vs.AddLiveFiles(live)
	for _, n := range names {
		if kind, num, ok := filenames.Parse(n); ok && kind == filenames.Table {
			delete(live, num)
		}
	}
	if len(live) == 0 {
		return nil
	}
	var missing uint64 = 1<<64 - 1
	for n := range live {
		missing = min(missing, n)
	}
	return &dberr.CorruptionError{File: filenames.Path(d.dir, filenames.Table, missing), Offset: dberr.NoOffset,
		Reason: fmt.Sprintf("missing: the MANIFEST names %d table(s) the directory does not hold", len(live))}
}
