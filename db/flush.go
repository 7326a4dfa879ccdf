package db

import (
	"time"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/iterator"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/sstable"
)

// flushLocked writes the immutable memtable to a table and records it in the MANIFEST, together
// with the new log number that makes the memtable's log obsolete.
func (d *DB) flushLocked() {
	start := time.Now()
	imm := d.mu.imm
	base := d.mu.vs.Current()
	base.Ref()
	defer base.Unref()
	info := d.flushBeginLocked(imm.Size())

	var edit compaction.VersionEdit
	meta, err := d.writeLevel0TableLocked(imm.NewIterator(), base, &edit)
	if err == nil {
		edit.SetLogNum(d.mu.log.num)
		edit.SetPrevLogNum(0)
		err = d.mu.vs.LogAndApply(&edit, &d.mu.Mutex)
	}
	level := 0
	if len(edit.NewFiles) > 0 {
		level = edit.NewFiles[0].Level
	}
	d.flushEndLocked(info, meta, level, time.Since(start), err)
	if d.mu.flushInstalling {
		d.mu.flushInstalling = false
		d.mu.bgCond.Broadcast() // the compaction goroutine may pick again
	}
	if meta != nil {
		delete(d.mu.pendingOutputs, meta.Num)
	}
	if err != nil {
		d.setBgErrLocked(dberr.Wrap(err, "flush"))
		return
	}
	d.mu.imm = nil
	d.updateReadStateLocked()
	d.releaseMem(imm)
	if prev := d.mu.prevLog; prev != nil {
		// Its writes are in the table now, and the MANIFEST names the next log as current.
		d.mu.prevLog = nil
		if err := prev.close(); err != nil {
			d.info.Printf("closing obsolete log %s: %v", filenames.Name(filenames.Log, prev.num), err)
		}
	}
	d.mu.stats.flushes++
	d.mu.stats.flushTime += time.Since(start)
	if meta != nil {
		d.mu.stats.flushBytes += meta.Size
	}
	d.deleteObsoleteFilesLocked()
	d.mu.bgCond.Broadcast()
}

// writeLevel0TableLocked writes the entries of it (a memtable) to a new table and adds it to
// edit, at the level the current Version's shape allows (deeper than 0 when nothing overlaps)
// when no compaction runs, else at level 0; base nil (recovery) means level 0. A table placed
// deeper sets d.mu.flushInstalling, which the caller clears once the edit is installed (see
// background.go). Entries overwritten within the memtable that no snapshot can
// read are left out (compaction.NewFlushDropper); deletion markers are all kept. It returns the
// table's metadata, or nil when there were no entries. The table's number stays in
// pendingOutputs until the caller removes it. d.mu is released while the table is written.
func (d *DB) writeLevel0TableLocked(it iterator.Iterator, base *compaction.Version, edit *compaction.VersionEdit) (*compaction.FileMetadata, error) {
	num := d.mu.vs.NewFileNumber()
	d.mu.pendingOutputs[num] = struct{}{}
	smallestSnapshot := keys.MaxSeqNum // recovery: no reader exists yet
	if base != nil {
		smallestSnapshot = d.smallestSnapshotLocked()
	}
	d.mu.Unlock()
	start := time.Now()
	meta, err := d.buildTable(num, it, compaction.NewFlushDropper(d.icmp, smallestSnapshot))
	d.mu.Lock()
	if err != nil || meta == nil {
		delete(d.mu.pendingOutputs, num)
		return nil, err
	}
	level := 0
	if base != nil && !d.mu.compacting {
		level = d.mu.vs.Current().PickLevelForMemTableOutput(meta.SmallestUser(), meta.LargestUser(), d.vopts.MaxGrandparentOverlapBytes())
		d.mu.flushInstalling = level > 0
	}
	edit.AddFile(level, meta)
	d.mu.stats.levels[level].add(time.Since(start), 0, meta.Size)
	d.tableCreatedLocked(meta, level, "flush")
	d.info.Printf("flushed table #%d to level %d: %d bytes, keys %s .. %s", num, level, meta.Size,
		keys.FormatInternalKey(meta.Smallest), keys.FormatInternalKey(meta.Largest))
	return meta, nil
}

// tableWriterOptions are the options every table of the DB is written with.
func (d *DB) tableWriterOptions() sstable.WriterOptions {
	return sstable.WriterOptions{
		Comparator:      d.icmp,
		BlockSize:       d.opts.BlockSize,
		RestartInterval: d.opts.BlockRestartInterval,
		Compression:     d.opts.Compression,
		Filter:          d.filter,
		FilterKey:       keys.UserKey,
	}
}

// buildTable writes the entries of it that dropper (nil: none) does not drop to table num and
// closes it (see tableOutput.finish). An empty iteration writes no table and returns nil.
func (d *DB) buildTable(num uint64, it iterator.Iterator, dropper *compaction.Dropper) (meta *compaction.FileMetadata, err error) {
	defer func() {
		if cerr := it.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	if !it.First() {
		return nil, it.Error()
	}
	out, err := d.newTableOutput(num)
	if err != nil {
		return nil, err
	}
	for ok := true; ok && err == nil; ok = it.Next() {
		if dropper != nil && dropper.Drop(it.Key()) {
			continue
		}
		err = out.add(it.Key(), it.Value())
	}
	if err == nil {
		err = it.Error()
	}
	if err != nil {
		out.abandon()
		return nil, dberr.Wrap(err, "write table %s", out.path)
	}
	return out.finish()
}
