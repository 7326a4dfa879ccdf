package db

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/iterator"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/sstable"
)

// Background compaction. The compaction goroutine (background.go) runs one job at a time: a
// manual compaction (CompactRange) step if one is queued, else whatever
// compaction.VersionSet.PickCompaction says the tree needs. Flushes run beside it on a goroutine
// of their own, so a long compaction never stalls writes behind a full memtable. Readers never
// wait for any of this: they hold their own Version.

// manualCompaction is a CompactRange queued for the background goroutine, which runs it in
// steps (compaction.VersionSet.CompactRange).
type manualCompaction struct {
	bottom     int    // the deepest level holding keys in the range
	begin, end []byte // user keys; nil is unbounded; begin advances as steps complete
	before     uint64 // files numbered from here on were written by this CompactRange
	done       bool
	// running is set while the background goroutine runs one of its steps; cancelled (by the
	// caller's context) makes it take no further step.
	running, cancelled bool
}

// needsCompactionLocked reports whether a compaction is due.
func (d *DB) needsCompactionLocked() bool {
	if m := d.mu.manual; m != nil && !m.done && !m.cancelled {
		return true
	}
	return d.mu.vs.Current().NeedsCompaction()
}

// compactLocked runs one compaction step.
func (d *DB) compactLocked() {
	if m := d.mu.manual; m != nil && !m.done && !m.cancelled {
		d.manualStepLocked(m)
		return
	}
	c := d.mu.vs.PickCompaction()
	if c == nil {
		return
	}
	defer c.Release()
	d.runCompactionLocked(c, false)
}

// manualStepLocked runs the next step of a CompactRange.
func (d *DB) manualStepLocked(m *manualCompaction) {
	c := d.mu.vs.CompactRange(m.bottom, m.begin, m.end, m.before)
	if c == nil {
		m.done = true
		d.mu.bgCond.Broadcast()
		return
	}
	defer c.Release()
	m.running = true
	d.runCompactionLocked(c, true)
	m.running = false
	if c.Last {
		m.done = true
	} else {
		m.begin = bytes.Clone(c.Resume) // nil stays nil: from the range's unbounded start
	}
	d.mu.bgCond.Broadcast()
}

// runCompactionLocked runs c and installs its result. A single input that overlaps nothing
// below moves down by a MANIFEST edit alone, except in a manual compaction, whose point is to
// rewrite the data.
func (d *DB) runCompactionLocked(c *compaction.Compaction, manual bool) {
	info := d.compactionBeginLocked(c, manual)
	if info.Reason == "move" {
		f := c.Inputs[0][0]
		c.Edit.DeleteFile(c.Level, f.Num)
		c.Edit.AddFile(c.Level+1, f)
		err := d.logAndApplyLocked(&c.Edit)
		d.compactionEndLocked(info, nil, err)
		if err != nil {
			d.setBgErrLocked(dberr.Wrap(err, "compaction"))
			return
		}
		d.mu.stats.moves++
		d.info.Printf("moved #%d to level %d: %d bytes", f.Num, c.Level+1, f.Size)
	} else if err := d.doCompactionWorkLocked(c, manual, info); err != nil {
		d.setBgErrLocked(dberr.Wrap(err, "compaction"))
		return
	}
	// Drop the input Version before looking for obsolete files: while it is referenced, the
	// inputs count as live and would stay on disk until the next flush or compaction.
	c.Release()
	d.deleteObsoleteFilesLocked()
	d.mu.bgCond.Broadcast()
}

// logAndApplyLocked records edit in the MANIFEST, installs the new Version and publishes it to
// readers.
func (d *DB) logAndApplyLocked(edit *compaction.VersionEdit) error {
	if err := d.mu.vs.LogAndApply(edit, &d.mu.Mutex); err != nil {
		return err
	}
	d.checkEditLocked(edit) // -tags invariants: reads the added tables back (invariants_on.go)
	d.updateReadStateLocked()
	return nil
}

// doCompactionWorkLocked merges c's inputs into new tables at c.OutputLevel(), dropping what no
// reader can see any more (compaction.Dropper), cutting outputs at the target file size and
// where they would overlap too much of the level below, and installs them in place of the inputs
// with one VersionEdit. d.mu is released while it works.
//
// A large automatic compaction runs as subcompactions: its key range is cut into parts
// (compaction.Compaction.SplitKeys), each merged by a goroutine of its own into its own tables,
// so that on several cores a compaction is not bound to one. The parts hold disjoint user-key
// ranges, so their outputs never overlap; an output may end at a cut where a single merge would
// have gone on. Manual compactions (CompactRange) run as one part.
func (d *DB) doCompactionWorkLocked(c *compaction.Compaction, manual bool, info CompactionInfo) (err error) {
	start := time.Now()
	smallestSnapshot := d.smallestSnapshotLocked()
	outLevel := c.OutputLevel()
	var splits [][]byte
	if !manual && c.InputBytes() >= subcompactionMinInputs*uint64(d.vopts.TargetFileSize) {
		splits = c.SplitKeys(min(runtime.GOMAXPROCS(0), maxSubcompactions))
	}
	d.info.Printf("compacting %s (%d bytes) to level %d%s%s", c, c.InputBytes(), outLevel,
		map[bool]string{true: ", seek-triggered"}[c.Seek],
		map[bool]string{true: fmt.Sprintf(", in %d parts", len(splits)+1)}[len(splits) > 0])
	d.mu.Unlock()

	parts := make([]compactionPart, len(splits)+1)
	for i := range parts {
		p := &parts[i]
		p.c = c
		if len(parts) > 1 {
			p.c = c.Part()
		}
		if i > 0 {
			p.lo = splits[i-1]
		}
		if i < len(splits) {
			p.hi = splits[i]
		}
	}
	inParallel(len(parts), func(i int) { d.runCompactionPart(&parts[i], smallestSnapshot) })

	var outputs []*compaction.FileMetadata
	for _, p := range parts {
		outputs = append(outputs, p.outputs...)
		if err == nil {
			err = p.err
		}
	}
	d.mu.Lock()
	if len(parts) > 1 {
		d.mu.stats.split++
	}
	defer func() {
		for _, p := range parts {
			for _, n := range p.nums {
				delete(d.mu.pendingOutputs, n)
			}
		}
	}()
	var written uint64
	for _, m := range outputs {
		written += m.Size
		d.tableCreatedLocked(m, outLevel, "compaction")
	}
	d.mu.stats.levels[outLevel].add(time.Since(start), c.InputBytes(), written)
	d.mu.stats.compactions++
	d.mu.stats.compactionRead += c.InputBytes()
	d.mu.stats.compactionWritten += written
	d.mu.stats.compactionTime += time.Since(start)
	if err == nil {
		c.AddInputDeletions(&c.Edit)
		for _, m := range outputs {
			c.Edit.AddFile(outLevel, m)
		}
		err = d.logAndApplyLocked(&c.Edit)
	}
	d.compactionEndLocked(info, outputs, err)
	if err != nil {
		return err
	}
	d.info.Printf("compacted to level %d: %d files, %d bytes, in %v", outLevel, len(outputs), written, time.Since(start))
	return nil
}

// Subcompactions: a compaction of at least subcompactionMinInputs target-sized tables of input
// is cut into at most maxSubcompactions parts (and no more than GOMAXPROCS).
const (
	subcompactionMinInputs = 4
	maxSubcompactions      = 4
)

// compactionPart is one part of a compaction: the user keys in [lo, hi) (nil: unbounded) of
// the inputs of c (the compaction itself, or its Part copy), and what merging them produced.
type compactionPart struct {
	c       *compaction.Compaction
	lo, hi  []byte
	outputs []*compaction.FileMetadata
	nums    []uint64 // every number taken for an output, kept in pendingOutputs until the end
	err     error
}

// runCompactionPart merges the part's entries into its own output tables. It takes d.mu only to
// number its outputs.
func (d *DB) runCompactionPart(p *compactionPart, smallestSnapshot keys.SeqNum) {
	c, target := p.c, uint64(d.vopts.TargetFileSize)
	var out *tableOutput
	finish := func() error {
		meta, err := out.finish()
		out = nil
		if meta != nil {
			p.outputs = append(p.outputs, meta)
		}
		return err
	}
	// Unmapped: a compaction reads each input once; through the mapping, its pages would stay
	// in the process's resident memory until the table closed.
	it := d.newCompactionInputIter(c, sstable.ReadOptions{DontFillCache: true, VerifyChecksums: d.opts.ParanoidChecks, Unmapped: true})
	dropper := compaction.NewDropper(c, smallestSnapshot)
	ok := it.First()
	if p.lo != nil {
		ok = it.SeekGE(keys.AppendInternalKey(nil, p.lo, keys.MaxSeqNum, keys.KindMax))
	}
	var err error
	for ; ok; ok = it.Next() {
		key := it.Key()
		if p.hi != nil && d.icmp.CompareUser(keys.UserKey(key), p.hi) >= 0 {
			break
		}
		if c.ShouldStopBefore(key) && out != nil {
			if err = finish(); err != nil {
				break
			}
		}
		if dropper.Drop(key) {
			continue
		}
		if out == nil {
			d.mu.Lock()
			num := d.mu.vs.NewFileNumber()
			d.mu.pendingOutputs[num] = struct{}{}
			d.mu.Unlock()
			p.nums = append(p.nums, num)
			if out, err = d.newTableOutput(num); err != nil {
				break
			}
		}
		if err = out.add(key, it.Value()); err != nil {
			break
		}
		if out.w.EstimatedSize() >= target {
			if err = finish(); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = it.Error()
	}
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if out != nil {
		if err == nil {
			err = finish()
		} else {
			out.abandon()
		}
	}
	p.err = err
}

// newCompactionInputIter merges the compaction's inputs: each level-0 file on its own (they
// overlap), each deeper level as one concatenation.
func (d *DB) newCompactionInputIter(c *compaction.Compaction, sro sstable.ReadOptions) iterator.Iterator {
	var its []iterator.Iterator
	for which, files := range c.Inputs {
		if len(files) == 0 {
			continue
		}
		if c.Level+which == 0 {
			for _, f := range files {
				num := f.Num
				its = append(its, newLevelIter(d.icmp.Compare, 1,
					func(int) ([]byte, []byte) { return f.Smallest, f.Largest },
					func(int) (iterator.Iterator, error) { return d.newTableIter(num, sro) }))
			}
			continue
		}
		its = append(its, newLevelIter(d.icmp.Compare, len(files),
			func(i int) ([]byte, []byte) { return files[i].Smallest, files[i].Largest },
			func(i int) (iterator.Iterator, error) { return d.newTableIter(files[i].Num, sro) }))
	}
	return iterator.NewMerging(d.icmp.Compare, its...)
}

// smallestSnapshotLocked returns the sequence number of the oldest live snapshot, or the last
// sequence number when there is none: an entry shadowed by a newer one at or below it can never
// be read again.
func (d *DB) smallestSnapshotLocked() keys.SeqNum {
	if s, ok := d.mu.snapshots.oldest(); ok {
		return s
	}
	return keys.SeqNum(d.lastSeq.Load())
}

// CompactRange compacts the keys in [start, limit] (nil is unbounded on that side) down the
// tree: the memtable is flushed, and the files of every level holding keys in the range are
// merged into the deepest such level, so that afterwards overwritten and deleted data in the
// range takes no space (unless a snapshot still needs it). The merge takes all levels in one
// pass, a slice of the range at a time, rather than level by level as leveldb does, so each
// entry is written once (compaction.VersionSet.CompactRange). It returns when done.
func (d *DB) CompactRange(start, limit []byte) error {
	return d.CompactRangeContext(context.Background(), start, limit)
}

// CompactRangeContext is CompactRange with a context. When ctx is done it stops between steps:
// the step under way (a slice of the range merged into new tables and installed by one
// MANIFEST edit) completes, no further step starts, and it returns an error wrapping ctx.Err().
// Every step leaves a valid tree, so a cancelled CompactRange loses nothing; the part of the
// range it did not reach is simply not compacted yet.
func (d *DB) CompactRangeContext(ctx context.Context, start, limit []byte) error {
	if d.closed.Load() {
		return ErrClosed
	}
	if d.opts.ReadOnly {
		return errReadOnly("compact range")
	}
	if ctx.Err() != nil {
		return ctxError(ctx, "compact range")
	}
	// Every file this call writes, its flush included, is numbered from before on. The flush
	// leaves out the overwritten entries no snapshot needs (writeLevel0TableLocked), so should
	// it land on the deepest level, beside no file of the range, it needs no rewrite.
	d.mu.Lock()
	before := d.mu.vs.PeekFileNumber()
	d.mu.Unlock()
	if err := d.flushMemTableContext(ctx); err != nil {
		return err
	}
	d.mu.Lock()
	v := d.mu.vs.Current()
	maxLevel := 1
	for level := 1; level < compaction.NumLevels; level++ {
		if v.OverlapInLevel(level, start, limit) {
			maxLevel = level
		}
	}
	d.mu.Unlock()
	return d.manualCompaction(ctx, &manualCompaction{bottom: maxLevel, begin: start, end: limit, before: before})
}

// manualCompaction queues a CompactRange and waits for its steps, or for ctx.
func (d *DB) manualCompaction(ctx context.Context, m *manualCompaction) error {
	stop := context.AfterFunc(ctx, func() {
		d.mu.Lock()
		d.mu.bgCond.Broadcast()
		d.mu.Unlock()
	})
	defer stop()
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.mu.manual != nil && !d.mu.closing && d.mu.bgErr == nil && ctx.Err() == nil {
		d.mu.bgCond.Wait() // another CompactRange is running
	}
	if ctx.Err() != nil {
		return ctxError(ctx, "compact range")
	}
	d.mu.manual = m
	d.mu.bgCond.Broadcast()
	for !m.done && !d.mu.closing && d.mu.bgErr == nil && (ctx.Err() == nil || m.running) {
		d.mu.bgCond.Wait()
	}
	if !m.done && ctx.Err() != nil {
		m.cancelled = true
	}
	if d.mu.manual == m {
		d.mu.manual = nil
		d.mu.bgCond.Broadcast()
	}
	switch {
	case d.mu.bgErr != nil:
		return d.mu.bgErr
	case m.cancelled:
		return ctxError(ctx, "compact range")
	case !m.done:
		return ErrClosed
	}
	return nil
}

// flushMemTable flushes the memtable, ordered with writes, and waits for the flush.
func (d *DB) flushMemTable() error { return d.flushMemTableContext(context.Background()) }

// flushMemTableContext is flushMemTable that stops waiting when ctx is done (the flush goes on
// in the background).
func (d *DB) flushMemTableContext(ctx context.Context) error {
	if err := d.commitForce(ctx); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() {
		d.mu.Lock()
		d.mu.bgCond.Broadcast()
		d.mu.Unlock()
	})
	defer stop()
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.mu.imm != nil && d.mu.bgErr == nil && !d.mu.closing && ctx.Err() == nil {
		d.mu.bgCond.Wait()
	}
	if d.mu.imm != nil && ctx.Err() != nil {
		return ctxError(ctx, "compact range")
	}
	if d.mu.bgErr != nil {
		return d.mu.bgErr
	}
	if d.mu.closing {
		return ErrClosed
	}
	return nil
}
