package db

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/iterator"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/memtable"
	"github.com/stratadb/strata/skiplist"
)

// Read-only opens (Options.ReadOnly).
//
// A read-only DB reads the directory as a read-write Open would recover it, and writes nothing:
//
//  1. openDirReadOnly never creates the directory; it checks for CURRENT before it locks, so a
//     directory that holds no DB is left as it was; and it takes a shared lock on LOCK
//     (vfs.FS.LockShared: an fcntl read lock on the OS), which any number of read-only opens
//     share, in this process and others, and which excludes, both ways, the write lock of a
//     read-write Open and of C++ leveldb. LockShared creates LOCK only when it is missing and
//     the directory is writable; a DB directory always holds one.
//  2. recoverReadOnly reads CURRENT and the MANIFEST (compaction.Recover opens them read-only)
//     and replays the logs, with the damage handling of a read-write Open, into memtables that
//     stay in memory: the memtables a read-write Open would have flushed to level-0 tables. One
//     becomes the memtable, two the memtable and the immutable one; more are copied into one
//     memtable (briefly holding both), since readers look at two at most. So the open holds
//     about as much memory as the logs' writes took in the memtables of the process that wrote
//     them: one or two write buffers, for a DB closed or killed by Strata or C++ leveldb with
//     the same WriteBufferSize.
//  3. Nothing else runs: no LOG is written (lines go to Options.Logger, or nowhere), no log,
//     MANIFEST, CURRENT or table is created, nothing is deleted, and no background goroutine
//     starts, so no compaction, not even one a read's seeks ask for, ever runs. Writes and
//     CompactRange fail with ErrReadOnly before they touch anything. The only goroutine a
//     read-only DB may have is the EventListener's delivery queue.
//  4. Close releases the shared lock and closes the tables and the MANIFEST reader; it writes
//     nothing.
//
// The DB's view is fixed at Open: writes a read-write process makes later cannot happen while
// the read-only DB holds the directory, so there is nothing newer to see.

// discardLogger drops every line: the info log of a read-only DB without Options.Logger.
var discardLogger = slog.New(discardHandler{})

// discardHandler is an slog.Handler that is never enabled.
type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (h discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h discardHandler) WithGroup(string) slog.Handler           { return h }

// errNoDBReadOnly is the error of a read-only Open of dir, which holds no DB: missing (a file or
// dir itself) does not exist. It matches both ErrInvalidArgument and os.ErrNotExist, as the
// error of ErrorIfMissing does.
func errNoDBReadOnly(dir, missing string) error {
	return dberr.Mark(errors.Join(ErrInvalidArgument, os.ErrNotExist),
		"strata: open %s: no DB there (ReadOnly never creates one): %s does not exist", dir, missing)
}

// openDirReadOnly checks that dir holds a DB and takes a shared lock on it; see Open.
func (d *DB) openDirReadOnly() error {
	fs, dir := d.fs, d.dir
	fi, err := fs.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return errNoDBReadOnly(dir, dir)
	case err != nil:
		return dberr.Wrap(err, "open %s", dir)
	case !fi.IsDir():
		return dberr.InvalidArgf("open %s: not a directory", dir)
	}
	// CURRENT before the lock, which would create a missing LOCK: a directory without a DB is
	// left as it was. checkListing tells a damaged DB (files without CURRENT) from none.
	current := filepath.Join(dir, filenames.CurrentName)
	if _, err := fs.Stat(current); errors.Is(err, os.ErrNotExist) {
		names, err := fs.List(dir)
		if err != nil {
			return fmt.Errorf("strata: open %s: %w", dir, err)
		}
		if _, err := d.checkListing(names); err != nil {
			return err
		}
		// CURRENT appeared since: a writer created the DB meanwhile. Lock, and recover what it
		// made.
	} else if err != nil {
		return dberr.Wrap(err, "open %s", dir)
	}
	lock, err := fs.LockShared(filepath.Join(dir, filenames.LockName))
	if err != nil {
		return dberr.Wrap(err, "open %s", dir)
	}
	d.lock = lock
	return nil
}

// recoverReadOnly builds a read-only DB's state from the directory, whose listing is names:
// the Version of the MANIFEST and the logs replayed into memtables. It writes nothing.
func (d *DB) recoverReadOnly(names []string) error {
	vs, err := compaction.Recover(d.fs, d.dir, d.icmp, d.vopts)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mu.vs = vs
	if err := d.checkLiveFilesLocked(names); err != nil {
		return err
	}
	d.info.Printf("opening %s read-only", d.dir)

	var mems []*memtable.MemTable
	keep := func(mem *memtable.MemTable, _ keys.SeqNum) error {
		mems = append(mems, mem)
		return nil
	}
	if err := d.replayLogsLocked(names, keep); err != nil {
		return err
	}
	switch len(mems) {
	case 0:
		// Nothing is ever added: the smallest arena will do. (stdMemCapacity stays 0, so no
		// memtable is kept for reuse: there are no log switches to reuse one.)
		d.mu.mem = memtable.New(d.opts.Comparator, 0)
	case 1:
		d.mu.mem = mems[0]
	case 2:
		d.mu.imm, d.mu.mem = mems[0], mems[1]
	default:
		if d.mu.mem, err = d.mergeMemTables(mems); err != nil {
			return err
		}
	}
	d.lastSeq.Store(uint64(vs.LastSequence()))
	d.updateReadStateLocked()
	d.info.Printf("opened %s read-only: last sequence %d, %d memtable(s) replayed from the logs, %s",
		d.dir, vs.LastSequence(), len(mems), vs.Current())
	return nil
}

// mergeMemTables copies the entries of mems (oldest first) into one memtable, sized for them.
// A memtable takes the versions of a key oldest first (its index of each key's newest version
// relies on it), so the copy walks all of mems in internal-key order, where a key's versions
// come newest first, and adds each key's versions in reverse. An entry that appears twice (the
// same key and sequence number: one write replayed from two logs) is copied once.
func (d *DB) mergeMemTables(mems []*memtable.MemTable) (*memtable.MemTable, error) {
	need := 4096
	its := make([]iterator.Iterator, len(mems))
	for i, m := range mems {
		it := m.NewIterator()
		for ok := it.First(); ok; ok = it.Next() {
			need += memtable.EntrySize(len(it.Key())-keys.TrailerLen, len(it.Value()))
		}
		its[len(mems)-1-i] = it // newest first, as the read path passes them
	}
	merged := memtable.New(d.opts.Comparator, need)
	it := iterator.NewMerging(d.icmp.Compare, its...)
	defer it.Close()
	type entry struct{ ikey, value []byte } // aliasing the arenas of mems
	var run []entry                         // the versions of one user key, newest first
	addRun := func() error {
		for i := len(run) - 1; i >= 0; i-- {
			pk, _ := keys.Parse(run[i].ikey) // the memtable holds only well-formed keys
			err := merged.Add(pk.Seq, pk.Kind, pk.UserKey, run[i].value)
			switch {
			case errors.Is(err, skiplist.ErrExists):
			case errors.Is(err, memtable.ErrFull):
				return fmt.Errorf("strata: open %s read-only: the logs hold more writes than one "+
					"memtable can (%d bytes); open the DB for writing once, which flushes them to tables", d.dir, need)
			case err != nil:
				return dberr.Wrap(err, "open %s read-only", d.dir)
			}
		}
		run = run[:0]
		return nil
	}
	for ok := it.First(); ok; ok = it.Next() {
		if len(run) > 0 && d.icmp.CompareUser(keys.UserKey(run[0].ikey), keys.UserKey(it.Key())) != 0 {
			if err := addRun(); err != nil {
				return nil, err
			}
		}
		run = append(run, entry{it.Key(), it.Value()})
	}
	if err := addRun(); err != nil {
		return nil, err
	}
	d.info.Printf("merged the %d memtables replayed from the logs into one of %d entries", len(mems), merged.Len())
	return merged, nil
}
