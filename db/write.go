package db

import (
	"context"
	"fmt"
	"time"

	"github.com/stratadb/strata/internal/batch"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/keys"
)

// Put sets key to value. A nil wo means not synced.
func (d *DB) Put(key, value []byte, wo *WriteOptions) error {
	b := getBatch()
	b.Put(key, value)
	err := d.Write(b, wo)
	putBatch(b)
	return err
}

// Delete removes key; deleting an absent key is not an error. A nil wo means not synced.
func (d *DB) Delete(key []byte, wo *WriteOptions) error {
	b := getBatch()
	b.Delete(key)
	err := d.Write(b, wo)
	putBatch(b)
	return err
}

// Write applies every operation of b atomically: readers see all of them at once, and after a
// crash either all of them or none are there. An empty batch writes nothing, except that with
// Sync it makes every earlier write durable. A nil wo means not synced.
func (d *DB) Write(b *Batch, wo *WriteOptions) error { return d.write(nil, b, wo) }

// WriteContext is Write with a context that bounds how long the write may wait: behind other
// writes, or in a write stall (a full memtable, too many level-0 tables; see
// Metrics.WriteStalls). When ctx is done before the write has been taken into a write group, it
// returns an error wrapping ctx.Err() and the batch is not applied, now or later; once taken,
// the write completes (a log append and a memtable insert, no waiting) and WriteContext returns
// its result.
func (d *DB) WriteContext(ctx context.Context, b *Batch, wo *WriteOptions) error {
	if err := ctx.Err(); err != nil {
		return ctxError(ctx, "write")
	}
	return d.write(ctx, b, wo)
}

func (d *DB) write(ctx context.Context, b *Batch, wo *WriteOptions) error {
	if d.closed.Load() {
		return ErrClosed
	}
	if d.opts.ReadOnly {
		return errReadOnly("write")
	}
	sync := wo != nil && wo.Sync
	if b == nil || b.Len() == 0 {
		if !sync {
			return nil
		}
		return d.commits.commit(ctx, batch.New(nil), true, false)
	}
	return d.commits.commit(ctx, b.repr, sync, false)
}

// commitForce joins the commit queue to make the memtable immutable (when it holds anything),
// so that the flush that follows holds every write that returned before the call.
func (d *DB) commitForce(ctx context.Context) error {
	return d.commits.commit(ctx, batch.New(nil), false, true)
}

// The DB is its commit queue's commitEnv.

// makeRoomLocked implements commitEnv. A synced write does not go to a log mapped with huge
// pages, whose syncs would write back 2 MiB at a time: it switches to a new log with small
// pages first.
func (d *DB) makeRoomLocked(ctx context.Context, need int, sync, force bool) error {
	return d.makeRoomForWriteLocked(ctx, need, force || (sync && d.mu.log.huge))
}

// interruptLocked implements commitEnv.
func (d *DB) interruptLocked() { d.mu.bgCond.Broadcast() }

// roomLocked implements commitEnv.
func (d *DB) roomLocked() int { return d.mu.mem.Available() }

// closingLocked implements commitEnv.
func (d *DB) closingLocked() bool { return d.mu.closing }

// drainedLocked implements commitEnv: Close waits for the queue to drain.
func (d *DB) drainedLocked() { d.mu.bgCond.Broadcast() }

// writeGroupLocked implements commitEnv: it assigns the group its sequence numbers, logs it (one
// record, synced when sync), inserts it into the memtable and publishes it. d.mu is released
// during the I/O.
func (d *DB) writeGroupLocked(group batch.Repr, sync bool, members int) (took time.Duration, err error) {
	first := keys.SeqNum(d.lastSeq.Load()) + 1
	count := keys.SeqNum(group.Count())
	if first+count-1 > keys.MaxSeqNum {
		return 0, fmt.Errorf("%w: sequence numbers exhausted", ErrInvalidArgument)
	}
	group.SetSeq(first)
	mem, log, prev := d.mu.mem, d.mu.log, d.mu.prevLog
	logNum, dirSynced := log.num, log.dirSynced

	d.mu.Unlock()
	log.f.SetSyncNext(sync)
	err = log.w.AddRecord(group)
	if err == nil && sync {
		// Durable in order: the retired log (the writes before this log), this log's directory
		// entry, then this log up to the group.
		if prev != nil {
			if err = prev.sync(); err != nil {
				logNum = prev.num
			}
		}
		if err == nil && !dirSynced {
			err = d.fs.SyncDir(d.dir)
		}
		if err == nil {
			start := time.Now()
			err = log.w.Sync()
			took = time.Since(start)
		}
	}
	if err == nil && count > 0 {
		err = batch.Apply(group, "write group", 0, func(seq keys.SeqNum, kind keys.Kind, key, value []byte) error {
			return mem.Add(seq, kind, key, value)
		})
	}
	d.mu.Lock()

	if err != nil {
		err = dberr.Wrap(err, "write to log %s", filenames.Name(filenames.Log, logNum))
		d.setBgErrLocked(err)
		return 0, err
	}
	d.mu.stats.walBytes += uint64(len(group))
	if sync {
		log.dirSynced, log.synced = true, true // only a leader switches logs, so log is current
		d.mu.stats.logSyncs++
		d.mu.stats.syncedWrites += members
	}
	if count > 0 {
		lastSeq := first + count - 1
		d.lastSeq.Store(uint64(lastSeq))
		d.mu.vs.SetLastSequence(lastSeq)
		d.mu.history.record(group, lastSeq) // only while transactions are open
	}
	return took, nil
}

// makeRoomForWriteLocked makes sure the memtable can take a group needing `need` arena bytes,
// rotating to a new memtable and log when it is full, or in any case with force (unless it is
// empty). It applies leveldb's write throttling: with many level-0 tables, a write is delayed
// once by a millisecond; with too many, it waits for compaction. Each wait is a write stall,
// counted in the metrics by reason and reported to the event listener. When ctx (nil: never)
// is done, it stops waiting and returns an error wrapping ctx.Err().
func (d *DB) makeRoomForWriteLocked(ctx context.Context, need int, force bool) error {
	allowDelay := true
	st := stall{d: d}
	defer st.endLocked()
	for {
		if d.mu.bgErr != nil {
			return d.mu.bgErr
		}
		if d.mu.closing {
			return ErrClosed
		}
		if ctx != nil && ctx.Err() != nil {
			return ctxError(ctx, "write")
		}
		l0 := d.mu.vs.NumLevelFiles(0)
		mem := d.mu.mem
		switch {
		case allowDelay && !force && l0 >= d.vopts.L0SlowdownWritesTrigger:
			// Let compaction catch up a little, and spread the delay over writers rather than
			// stalling one of them for seconds at the stop trigger.
			st.beginLocked(StallL0Slowdown)
			d.mu.Unlock()
			time.Sleep(time.Millisecond)
			d.mu.Lock()
			st.endLocked()
			allowDelay = false
		case !force && mem.Size() <= d.opts.WriteBufferSize && mem.Available() >= need:
			return nil
		case force && mem.Empty():
			return nil
		case mem.Empty():
			// Nothing to flush, the arena is just too small for this batch: replace it.
			d.mu.mem = d.newMemTableLocked(need)
			d.updateReadStateLocked()
			d.releaseMem(mem)
		case d.mu.imm != nil:
			st.beginLocked(StallMemTableFull)
			d.mu.bgCond.Wait() // the previous memtable is still being flushed
		case l0 >= d.vopts.L0StopWritesTrigger:
			st.beginLocked(StallL0Stop)
			d.mu.bgCond.Wait() // too many level-0 tables: wait for compaction
		default:
			// A log that a full memtable retires after no synced write suggests a run of
			// unsynced writes: its successor gets huge pages (see the log's notes in log.go).
			if err := d.rotateLocked(need, !force && !d.mu.log.synced); err != nil {
				return err
			}
			force = false
		}
	}
}

// rotateLocked makes the memtable immutable, starts a new log and memtable for later writes,
// and wakes the background goroutine to flush. It neither syncs the old log nor the directory
// (with the new log's entry): the next synced write does both first (writeGroupLocked), and
// the flush of the old memtable syncs the directory before its MANIFEST edit names the new log
// (see retiredLog). So writers do not wait for the disk here. C++ leveldb does not sync the old
// log at all, so there a synced write to the new log can become durable while unsynced writes
// before it, in the old log, are lost. huge maps the new log with huge pages.
func (d *DB) rotateLocked(need int, huge bool) error {
	num := d.mu.vs.NewFileNumber()
	old := d.mu.log
	log, err := d.createLog(num, huge)
	if err != nil {
		d.mu.vs.ReuseFileNumber(num)
		d.info.Printf("%v", err)
		return err
	}
	// Cut the retired log to its records now, so that a reader sees it end cleanly even before
	// its flush; a failure leaves a zero tail, which readers also take for its end.
	if err := old.f.Finish(); err != nil {
		d.info.Printf("finishing log %s: %v", filenames.Name(filenames.Log, old.num), err)
	}
	d.mappedLogBytes.Add(old.f.MappedBytes())
	d.mu.prevLog = &retiredLog{f: old.f, num: old.num}
	d.mu.log = log
	d.mu.imm = d.mu.mem
	d.mu.mem = d.newMemTableLocked(need)
	d.updateReadStateLocked()
	d.mu.bgCond.Broadcast()
	return nil
}

// stall tracks the write stall a leader is in across the waits of makeRoomForWriteLocked: a
// wait of the same reason as the one before continues the stall; another reason ends it and
// begins a new one. Its methods are called with d.mu held.
type stall struct {
	d      *DB
	on     bool
	reason WriteStallReason
	start  time.Time
}

// beginLocked enters a stall of reason r, unless already in one.
func (s *stall) beginLocked(r WriteStallReason) {
	if s.on && s.reason == r {
		return
	}
	s.endLocked()
	s.on, s.reason, s.start = true, r, time.Now()
	s.d.mu.stats.stalls[r].Count++
	s.d.events.post(func(l *EventListener) {
		if l.WriteStallBegin != nil {
			l.WriteStallBegin(WriteStallInfo{Reason: r})
		}
	})
}

// endLocked ends the stall, if in one.
func (s *stall) endLocked() {
	if !s.on {
		return
	}
	s.on = false
	info := WriteStallInfo{Reason: s.reason, Duration: time.Since(s.start)}
	s.d.mu.stats.stalls[s.reason].Duration += info.Duration
	s.d.events.post(func(l *EventListener) {
		if l.WriteStallEnd != nil {
			l.WriteStallEnd(info)
		}
	})
}
