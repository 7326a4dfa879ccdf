package db

import (
	"errors"
	"time"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
)

// What the DB reports to its EventListener, and from where. Each function is called with d.mu
// held (so the counters it updates are guarded) and queues the event (eventQueue.post), which
// costs nothing without a listener.

// nextJobLocked numbers a flush or compaction.
func (d *DB) nextJobLocked() int {
	d.mu.stats.jobs++
	return d.mu.stats.jobs
}

// flushBeginLocked reports the start of a flush of mem's size bytes.
func (d *DB) flushBeginLocked(size int) FlushInfo {
	info := FlushInfo{JobID: d.nextJobLocked(), MemTableBytes: size}
	d.events.post(func(l *EventListener) {
		if l.FlushBegin != nil {
			l.FlushBegin(info)
		}
	})
	return info
}

// flushEndLocked reports the end of a flush that wrote meta (nil: no table) to level.
func (d *DB) flushEndLocked(info FlushInfo, meta *compaction.FileMetadata, level int, took time.Duration, err error) {
	info.Duration, info.Err = took, err
	if meta != nil {
		info.Table, info.Level, info.TableBytes = meta.Num, level, meta.Size
	}
	d.events.post(func(l *EventListener) {
		if l.FlushEnd != nil {
			l.FlushEnd(info)
		}
	})
}

// compactionBeginLocked reports the start of c.
func (d *DB) compactionBeginLocked(c *compaction.Compaction, manual bool) CompactionInfo {
	info := CompactionInfo{JobID: d.nextJobLocked(), Reason: "size", Level: c.Level,
		OutputLevel: c.OutputLevel(), InputBytes: c.InputBytes()}
	switch {
	case manual:
		info.Reason = "manual"
	case c.IsTrivialMove():
		info.Reason = "move"
	case c.Seek:
		info.Reason = "seek"
	}
	for _, files := range c.Inputs {
		for _, f := range files {
			info.Inputs = append(info.Inputs, f.Num)
		}
	}
	if d.events == nil {
		return info
	}
	begin := info
	begin.Inputs = append([]uint64(nil), info.Inputs...)
	d.events.post(func(l *EventListener) {
		if l.CompactionBegin != nil {
			l.CompactionBegin(begin)
		}
	})
	return info
}

// compactionEndLocked reports the end of a compaction that wrote outputs (a move: none; its
// input is its output).
func (d *DB) compactionEndLocked(info CompactionInfo, outputs []*compaction.FileMetadata, err error) {
	if d.events == nil {
		return
	}
	if info.Reason == "move" {
		info.Outputs, info.OutputBytes = info.Inputs, info.InputBytes
	}
	for _, m := range outputs {
		info.Outputs = append(info.Outputs, m.Num)
		info.OutputBytes += m.Size
	}
	info.Err = err
	d.events.post(func(l *EventListener) {
		if l.CompactionEnd != nil {
			l.CompactionEnd(info)
		}
	})
}

// tableCreatedLocked reports a table written by a flush or a compaction (reason).
func (d *DB) tableCreatedLocked(meta *compaction.FileMetadata, level int, reason string) {
	if d.events == nil {
		return
	}
	info := TableInfo{Num: meta.Num, Path: filenames.Path(d.dir, filenames.Table, meta.Num),
		Level: level, Size: meta.Size, Reason: reason}
	d.events.post(func(l *EventListener) {
		if l.TableCreated != nil {
			l.TableCreated(info)
		}
	})
}

// tableDeleted reports the removal of an obsolete table file at path. d.mu need not be held.
func (d *DB) tableDeleted(num uint64, path string) {
	d.events.post(func(l *EventListener) {
		if l.TableDeleted != nil {
			l.TableDeleted(TableInfo{Num: num, Path: path, Level: -1, Reason: "obsolete"})
		}
	})
}

// backgroundErrorLocked reports the error that stopped writes.
func (d *DB) backgroundErrorLocked(err error) {
	d.events.post(func(l *EventListener) {
		if l.BackgroundError != nil {
			l.BackgroundError(err)
		}
	})
}

// reportDamageAtLocked counts and reports n bytes at off of file that recovery skipped, and why.
func (d *DB) reportDamageAtLocked(file string, off, n int64, why error) {
	d.mu.stats.damaged++
	d.mu.stats.damagedBytes += n
	info := DamageInfo{File: file, Offset: off, Bytes: n, Reason: why.Error()}
	d.events.post(func(l *EventListener) {
		if l.DamageSkipped != nil {
			l.DamageSkipped(info)
		}
	})
}

// reportDamageLocked reports a record of n bytes that recovery skipped for err, which names its
// offset when it is a CorruptionError.
func (d *DB) reportDamageLocked(file string, n int, err error) {
	off := dberr.NoOffset
	var ce *dberr.CorruptionError
	if errors.As(err, &ce) {
		off = ce.Offset
	}
	d.reportDamageAtLocked(file, off, int64(n), err)
}
