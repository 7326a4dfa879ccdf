package db

import (
	"fmt"
	"sync"
	"time"

	"github.com/stratadb/strata/internal/batch"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/memtable"
)

// Group commit.
//
// Writers queue in d.mu.writers. The writer at the head is the leader: it makes room in the
// memtable (waiting for a flush if the previous memtable is still being written out), takes the
// writers queued behind it into its group, and, with the DB mutex released, appends the whole
// group to the log as ONE record in ONE write call, fsyncs the log if it is a synced group, and
// inserts the group into the memtable. It then publishes the group's last sequence number,
// hands every member its result and wakes the next head. Followers just wait.
//
// A synced group waits briefly for company first (lingerLocked): when the last synced group
// held k writers, the leader waits until k writers are queued, or a quarter of a sync's time.
// Without that, writers that each wait for their own sync alternate between a group of one (the
// writer that came back first) and a group of the rest, and eight synced writers carry about
// four times one writer's rate instead of nearly eight.
//
// A group is capped at maxGroupBytes (smaller when the leader's own batch is small, so that a
// small write is not delayed behind a large copy), never mixes a synced write into an unsynced
// leader's group, and never holds more than the memtable's arena has room for. Only the leader
// touches the log writer and the memtable, so the memtable keeps its one-writer contract.
const (
	maxGroupBytes   = 1 << 20
	smallBatchBytes = 128 << 10
)

// writer is one Write waiting in the commit queue.
type writer struct {
	repr  batch.Repr
	sync  bool
	force bool // rotate the memtable (CompactRange's flush); writes nothing
	done  bool
	err   error
	cond  sync.Cond // L is the DB mutex
}

var writerPool = sync.Pool{New: func() any { return new(writer) }}

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
func (d *DB) Write(b *Batch, wo *WriteOptions) error {
	if d.closed.Load() {
		return ErrClosed
	}
	sync := wo != nil && wo.Sync
	if b == nil || b.Len() == 0 {
		if !sync {
			return nil
		}
		return d.commit(batch.New(nil), true, false)
	}
	return d.commit(b.repr, sync, false)
}

// commitForce joins the commit queue to make the memtable immutable (when it holds anything),
// so that the flush that follows holds every write that returned before the call.
func (d *DB) commitForce() error { return d.commit(batch.New(nil), false, true) }

// arenaBound is the most memtable arena bytes a batch can take: its encoded size plus the
// largest per-entry overhead for each entry.
func arenaBound(repr batch.Repr) int {
	return len(repr) + int(repr.Count())*memtable.EntrySize(0, 0)
}

// commit runs repr through the commit queue.
func (d *DB) commit(repr batch.Repr, sync, force bool) error {
	w := writerPool.Get().(*writer)
	w.repr, w.sync, w.force, w.done, w.err = repr, sync, force, false, nil
	w.cond.L = &d.mu.Mutex

	d.mu.Lock()
	if d.mu.closing {
		d.mu.Unlock()
		writerPool.Put(w)
		return ErrClosed
	}
	d.mu.writers = append(d.mu.writers, w)
	if d.mu.linger != nil && len(d.mu.writers) >= d.mu.lingerFor {
		close(d.mu.linger) // the lingering leader has its company
		d.mu.linger = nil
	}
	for !w.done && w != d.mu.writers[0] {
		w.cond.Wait()
	}
	if w.done {
		err := w.err
		d.mu.Unlock()
		w.repr = nil
		writerPool.Put(w)
		return err
	}

	if w.sync && !force {
		d.lingerLocked()
	}
	// w leads a group. A synced write does not go to a log mapped with huge pages, whose syncs
	// would write back 2 MiB at a time: it switches to a new log with small pages first.
	err := d.makeRoomForWriteLocked(arenaBound(repr), force || (w.sync && d.mu.log.huge))
	last := 0
	if err == nil && !force {
		var group batch.Repr
		group, last = d.buildGroupLocked()
		if w.sync {
			d.mu.syncGroup = last + 1
			d.mu.stats.logSyncs++
			d.mu.stats.syncedWrites += last + 1
		}
		err = d.writeGroupLocked(group, w.sync)
	}
	for _, x := range d.mu.writers[1 : last+1] {
		x.err, x.done = err, true
		x.cond.Signal()
	}
	n := copy(d.mu.writers, d.mu.writers[last+1:])
	clear(d.mu.writers[n:])
	d.mu.writers = d.mu.writers[:n]
	if n > 0 {
		d.mu.writers[0].cond.Signal()
	} else if d.mu.closing {
		d.mu.bgCond.Broadcast() // Close waits for the queue to drain
	}
	d.mu.Unlock()
	w.repr = nil
	writerPool.Put(w)
	return err
}

// lingerLocked waits, as the leader of a synced group, for as many writers to queue as the last
// synced group held, or for a quarter of a sync's time (see the notes above), with d.mu
// released meanwhile.
func (d *DB) lingerLocked() {
	want := d.mu.syncGroup
	if want <= 1 || len(d.mu.writers) >= want {
		return
	}
	wait := min(max(d.mu.syncTime/4, minLinger), maxLinger)
	ch := make(chan struct{})
	d.mu.linger, d.mu.lingerFor = ch, want
	d.mu.Unlock()
	t := time.NewTimer(wait)
	select {
	case <-ch:
	case <-t.C:
	}
	t.Stop()
	d.mu.Lock()
	if d.mu.linger == ch {
		d.mu.linger = nil
	}
}

// Bounds of a synced leader's wait for company.
const (
	minLinger = 10 * time.Microsecond
	maxLinger = time.Millisecond
)

// buildGroupLocked returns the batch to write for the writers at the head of the queue, and the
// index of the last writer it includes.
func (d *DB) buildGroupLocked() (batch.Repr, int) {
	ws := d.mu.writers
	lead := ws[0]
	size := len(lead.repr)
	limit := maxGroupBytes
	if size <= smallBatchBytes {
		limit = size + smallBatchBytes
	}
	room := d.mu.mem.Available() - arenaBound(lead.repr)
	last := 0
	for i := 1; i < len(ws); i++ {
		x := ws[i]
		if x.sync && !lead.sync {
			break // an unsynced leader does not fsync; a synced writer waits for its own group
		}
		extra := len(x.repr) - batch.HeaderLen
		if extra <= 0 {
			last = i // an empty (sync-only) batch rides along
			continue
		}
		if size+extra > limit || arenaBound(x.repr) > room {
			break
		}
		size += extra
		room -= arenaBound(x.repr)
		last = i
	}
	if last == 0 {
		return lead.repr, 0
	}
	g := batch.New(d.groupBuf)
	for _, x := range ws[:last+1] {
		if len(x.repr) > batch.HeaderLen {
			g.Append(x.repr)
		}
	}
	if cap(g) <= 4*maxGroupBytes {
		d.groupBuf = g[:0]
	} else {
		d.groupBuf = nil
	}
	return g, last
}

// writeGroupLocked assigns the group its sequence numbers, logs it (one write, fsynced when
// sync), inserts it into the memtable and publishes it. d.mu is released during the I/O.
func (d *DB) writeGroupLocked(group batch.Repr, sync bool) error {
	first := keys.SeqNum(d.lastSeq.Load()) + 1
	count := keys.SeqNum(group.Count())
	if first+count-1 > keys.MaxSeqNum {
		return fmt.Errorf("%w: sequence numbers exhausted", ErrInvalidArgument)
	}
	group.SetSeq(first)
	mem, log, prev := d.mu.mem, d.mu.log, d.mu.prevLog
	logNum, dirSynced := log.num, log.dirSynced

	d.mu.Unlock()
	var took time.Duration // the log's sync
	log.f.SetSyncNext(sync)
	err := log.w.AddRecord(group)
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
		return err
	}
	if sync {
		log.dirSynced, log.synced = true, true // only a leader switches logs, so log is current
		d.mu.syncTime = (3*d.mu.syncTime + took) / 4
	}
	if count > 0 {
		lastSeq := first + count - 1
		d.lastSeq.Store(uint64(lastSeq))
		d.mu.vs.SetLastSequence(lastSeq)
	}
	return nil
}

// makeRoomForWriteLocked makes sure the memtable can take a group needing `need` arena bytes,
// rotating to a new memtable and log when it is full, or in any case with force (unless it is
// empty). It applies leveldb's write throttling: with many level-0 tables, a write is delayed
// once by a millisecond; with too many, it waits for compaction.
func (d *DB) makeRoomForWriteLocked(need int, force bool) error {
	allowDelay := true
	for {
		if d.mu.bgErr != nil {
			return d.mu.bgErr
		}
		if d.mu.closing {
			return ErrClosed
		}
		l0 := d.mu.vs.NumLevelFiles(0)
		mem := d.mu.mem
		switch {
		case allowDelay && !force && l0 >= d.vopts.L0SlowdownWritesTrigger:
			// Let compaction catch up a little, and spread the delay over writers rather than
			// stalling one of them for seconds at the stop trigger.
			start := time.Now()
			d.mu.Unlock()
			time.Sleep(time.Millisecond)
			d.mu.Lock()
			d.mu.stats.stallSlowdown += time.Since(start)
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
			start := time.Now()
			d.mu.bgCond.Wait() // the previous memtable is still being flushed
			d.mu.stats.stallMemtable += time.Since(start)
		case l0 >= d.vopts.L0StopWritesTrigger:
			start := time.Now()
			d.mu.bgCond.Wait() // too many level-0 tables: wait for compaction
			d.mu.stats.stallL0 += time.Since(start)
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
