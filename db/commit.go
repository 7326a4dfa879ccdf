package db

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/stratadb/strata/internal/batch"
	"github.com/stratadb/strata/memtable"
)

// The commit pipeline.
//
// Writers queue in a commitQueue. The writer at the head is the leader: it makes room in the
// memtable (the DB may switch memtables and logs, or wait for a flush), takes the writers queued
// behind it into its group, and has the group logged (one record; synced if the group is),
// applied to the memtable and published (commitEnv.writeGroupLocked, which releases the mutex for
// the I/O). It then hands every member its result and wakes the next head. Followers just wait.
// Only the leader touches the log and the memtable, so the memtable keeps its one-writer
// contract, and groups are logged, applied and published in queue order.
//
// A synced group waits briefly for company first (lingerLocked): when the last synced group
// held k writers, the leader waits until k writers are queued, or a quarter of a sync's time.
// Without that, writers that each wait for their own sync alternate between a group of one (the
// writer that came back first) and a group of the rest, and eight synced writers carry about
// four times one writer's rate instead of nearly eight.
//
// A group is capped at maxGroupBytes (smaller when the leader's own batch is small, so that a
// small write is not delayed behind a large copy), never takes a synced write into an unsynced
// leader's group, never holds more than the memtable's arena has room for, and takes empty
// (sync-only) batches along whatever their size. An error fails the whole group.
//
// The queue knows the DB only through commitEnv, so its rules are tested without one
// (commit_test.go).
const (
	maxGroupBytes   = 1 << 20
	smallBatchBytes = 128 << 10
)

// commitEnv is what a commitQueue's leader does with a group. Every method is called with the
// queue's mutex held, by the leader only.
type commitEnv interface {
	// makeRoomLocked makes sure the memtable can take a group needing need arena bytes; with
	// force it switches to a new memtable (if the current one holds anything) and the group
	// writes nothing. sync says the leader's write is synced. It may release the mutex while it
	// waits; when ctx (nil: never) is done meanwhile, it returns an error wrapping ctx.Err()
	// with the memtable unchanged or switched, never half switched.
	makeRoomLocked(ctx context.Context, need int, sync, force bool) error
	// roomLocked returns the arena bytes the memtable has left.
	roomLocked() int
	// writeGroupLocked logs group (syncing the log if sync), applies it to the memtable and
	// publishes it; members is the number of writes in it. It releases the mutex for the I/O
	// and returns how long the log's sync took.
	writeGroupLocked(group batch.Repr, sync bool, members int) (synced time.Duration, err error)
	// closingLocked reports whether the DB is closing: new writes are refused.
	closingLocked() bool
	// drainedLocked is called when the queue empties while the DB is closing.
	drainedLocked()
	// interruptLocked wakes makeRoomLocked's waits, for a context that is done.
	interruptLocked()
	// checkLocked checks a transaction's reads against the writes logged since it began and
	// against earlier, the batches queued before it in its group: nil, or the error to fail it
	// with (ErrConflict) without writing it.
	checkLocked(c *txnCheck, earlier []batch.Repr) error
}

// writer is one Write waiting in the commit queue.
type writer struct {
	repr  batch.Repr
	sync  bool
	force bool // switch memtables (CompactRange's flush); writes nothing
	// ctx, when not nil, may cancel the write until it joins a group (grouped).
	ctx     context.Context
	grouped bool
	// check, when not nil, is a transaction's commit-time check; skip marks a writer it failed,
	// which its group leaves out.
	check *txnCheck
	skip  bool
	// exclusive, when not nil, is work done as the queue's head instead of a write, with no
	// other writer in its group (commitQueue.exclusive).
	exclusive func() error
	done      bool
	err       error
	cond      sync.Cond // L is the queue's mutex
}

var writerPool = sync.Pool{New: func() any { return new(writer) }}

// commitQueue is the commit pipeline of one DB. Its fields are guarded by mu (the DB's mutex),
// except groupBuf, which only the leader uses.
type commitQueue struct {
	mu  *sync.Mutex
	env commitEnv

	writers []*writer // writers[0] leads
	// The last synced group's size and a running average of log syncs' time; and while a synced
	// leader lingers, the channel that a writer closes on making the queue lingerFor long.
	syncGroup int
	syncTime  time.Duration
	linger    chan struct{}
	lingerFor int
	// lingerCap bounds a leader's wait for company; 0 means maxLinger (tests set more).
	lingerCap time.Duration

	groupBuf []byte       // the leader's scratch for concatenating a group
	earlier  []batch.Repr // the leader's scratch for checking a transaction
}

// lenLocked returns the number of writers queued, the leader included.
func (q *commitQueue) lenLocked() int { return len(q.writers) }

// arenaBound is the most memtable arena bytes a batch can take: its encoded size plus the
// largest per-entry overhead for each entry.
func arenaBound(repr batch.Repr) int {
	return len(repr) + int(repr.Count())*memtable.EntrySize(0, 0)
}

// commit runs repr through the queue and returns its write's result. With force it writes
// nothing and has the memtable switched once every earlier write is in it.
//
// ctx (nil: none) cancels the write while it waits: in the queue, or as the leader for room in
// the memtable (a stall). A cancelled write leaves the queue unwritten and returns an error
// wrapping ctx.Err(). Once a leader has taken it into a group, it is written whatever ctx says.
func (q *commitQueue) commit(ctx context.Context, repr batch.Repr, sync, force bool) error {
	return q.commitWriter(ctx, repr, sync, force, nil, nil)
}

// exclusive waits for the head of the queue, in turn with the writes, and runs fn there, with
// the queue's mutex held: no write commits until fn returns. fn may release the mutex while it
// waits or does I/O. It returns fn's error, or ErrClosed for a closing DB.
func (q *commitQueue) exclusive(fn func() error) error {
	return q.commitWriter(nil, nil, false, false, nil, fn)
}

// commitChecked commits a transaction's batch if its check passes in the leader (see
// commitEnv.checkLocked); otherwise it returns the check's error and writes nothing.
func (q *commitQueue) commitChecked(repr batch.Repr, sync bool, check *txnCheck) error {
	return q.commitWriter(nil, repr, sync, false, check, nil)
}

func (q *commitQueue) commitWriter(ctx context.Context, repr batch.Repr, sync, force bool, check *txnCheck, exclusive func() error) error {
	w := writerPool.Get().(*writer)
	w.repr, w.sync, w.force, w.done, w.err = repr, sync, force, false, nil
	w.ctx, w.grouped, w.check, w.skip, w.exclusive = ctx, false, check, false, exclusive
	w.cond.L = q.mu

	q.mu.Lock()
	if q.env.closingLocked() {
		q.mu.Unlock()
		writerPool.Put(w)
		return ErrClosed
	}
	q.writers = append(q.writers, w)
	if q.linger != nil && len(q.writers) >= q.lingerFor {
		close(q.linger) // the lingering leader has its company
		q.linger = nil
	}
	var stop func() bool
	if ctx != nil && ctx.Done() != nil {
		// Wake w when ctx is done, wherever it waits. A wake that comes after w has left (and
		// its writer struct went to another write) is a spurious one, which every wait allows.
		stop = context.AfterFunc(ctx, func() {
			q.mu.Lock()
			w.cond.Signal()
			q.env.interruptLocked()
			q.mu.Unlock()
		})
	}
	for !w.done && w != q.writers[0] {
		if ctx != nil && !w.grouped && ctx.Err() != nil {
			return q.leaveLocked(w, stop, ctxError(ctx, "write"))
		}
		w.cond.Wait()
	}
	if w.done {
		err := w.err
		q.mu.Unlock()
		if stop != nil {
			stop()
		}
		w.repr, w.ctx, w.check, w.exclusive = nil, nil, nil, nil
		writerPool.Put(w)
		return err
	}

	// w leads a group.
	if ctx != nil && ctx.Err() != nil {
		return q.leaveLocked(w, stop, ctxError(ctx, "write"))
	}
	if w.check != nil {
		if err := q.env.checkLocked(w.check, nil); err != nil {
			return q.leaveLocked(w, stop, err)
		}
	}
	if w.sync && !force && exclusive == nil {
		q.lingerLocked()
	}
	var err error
	if exclusive != nil {
		err = exclusive()
	} else {
		err = q.env.makeRoomLocked(ctx, arenaBound(repr), w.sync, force)
	}
	last := 0
	if err == nil && !force && exclusive == nil {
		var group batch.Repr
		group, last = q.buildGroupLocked()
		if w.sync {
			q.syncGroup = last + 1
		}
		var took time.Duration
		members := last + 1
		for _, x := range q.writers[1 : last+1] {
			if x.skip {
				members--
			}
		}
		took, err = q.env.writeGroupLocked(group, w.sync, members)
		if w.sync && err == nil {
			q.syncTime = (3*q.syncTime + took) / 4
		}
	}
	for _, x := range q.writers[1 : last+1] {
		if !x.skip {
			x.err = err
		}
		x.done = true
		x.cond.Signal()
	}
	n := copy(q.writers, q.writers[last+1:])
	clear(q.writers[n:])
	q.writers = q.writers[:n]
	if n > 0 {
		q.writers[0].cond.Signal()
	} else if q.env.closingLocked() {
		q.env.drainedLocked()
	}
	q.mu.Unlock()
	if stop != nil {
		stop()
	}
	w.repr, w.ctx, w.check, w.exclusive = nil, nil, nil, nil
	writerPool.Put(w)
	return err
}

// leaveLocked takes w out of the queue before it joined a group (its context is done, or its
// transaction's check failed as it came to lead), wakes the next leader if w was the head, and
// returns err. It releases the mutex.
func (q *commitQueue) leaveLocked(w *writer, stop func() bool, err error) error {
	i := slices.Index(q.writers, w)
	q.writers = slices.Delete(q.writers, i, i+1)
	if i == 0 && len(q.writers) > 0 {
		q.writers[0].cond.Signal()
	} else if len(q.writers) == 0 && q.env.closingLocked() {
		q.env.drainedLocked()
	}
	q.mu.Unlock()
	if stop != nil {
		stop()
	}
	w.repr, w.ctx, w.check, w.exclusive = nil, nil, nil, nil
	writerPool.Put(w)
	return err
}

// lingerLocked waits, as the leader of a synced group, for as many writers to queue as the last
// synced group held, or for a quarter of a sync's time (see the notes above), with the mutex
// released meanwhile.
func (q *commitQueue) lingerLocked() {
	want := q.syncGroup
	if want <= 1 || len(q.writers) >= want {
		return
	}
	limit := maxLinger
	if q.lingerCap > 0 {
		limit = q.lingerCap
	}
	wait := min(max(q.syncTime/4, minLinger), limit)
	ch := make(chan struct{})
	q.linger, q.lingerFor = ch, want
	q.mu.Unlock()
	t := time.NewTimer(wait)
	select {
	case <-ch:
	case <-t.C:
	}
	t.Stop()
	q.mu.Lock()
	if q.linger == ch {
		q.linger = nil
	}
}

// Bounds of a synced leader's wait for company.
const (
	minLinger = 10 * time.Microsecond
	maxLinger = time.Millisecond
)

// buildGroupLocked returns the batch to write for the writers at the head of the queue, and the
// index of the last writer it includes.
func (q *commitQueue) buildGroupLocked() (batch.Repr, int) {
	ws := q.writers
	lead := ws[0]
	size := len(lead.repr)
	limit := maxGroupBytes
	if size <= smallBatchBytes {
		limit = size + smallBatchBytes
	}
	room := q.env.roomLocked() - arenaBound(lead.repr)
	last := 0
	for i := 1; i < len(ws); i++ {
		x := ws[i]
		if x.exclusive != nil {
			break // it leads alone
		}
		if x.sync && !lead.sync {
			break // an unsynced leader does not sync; a synced writer waits for its own group
		}
		extra := len(x.repr) - batch.HeaderLen
		if extra <= 0 {
			last = i // an empty (sync-only) batch rides along
			x.grouped = true
			continue
		}
		if size+extra > limit || arenaBound(x.repr) > room {
			break
		}
		if x.check != nil {
			// A transaction is checked against the groups before this one and the batches
			// queued before it in this one.
			earlier := q.earlier[:0]
			for _, y := range ws[:i] {
				if !y.skip && len(y.repr) > batch.HeaderLen {
					earlier = append(earlier, y.repr)
				}
			}
			err := q.env.checkLocked(x.check, earlier)
			clear(earlier)
			q.earlier = earlier[:0]
			if err != nil {
				x.err, x.skip, x.grouped = err, true, true
				last = i
				continue
			}
		}
		size += extra
		room -= arenaBound(x.repr)
		last = i
		x.grouped = true
	}
	if last == 0 {
		return lead.repr, 0
	}
	g := batch.New(q.groupBuf)
	for _, x := range ws[:last+1] {
		if !x.skip && len(x.repr) > batch.HeaderLen {
			g.Append(x.repr)
		}
	}
	if cap(g) <= 4*maxGroupBytes {
		q.groupBuf = g[:0]
	} else {
		q.groupBuf = nil
	}
	return g, last
}
