package db

import (
	"fmt"
	"sync"
	"time"
)

// EventListener is told what the DB does in the background and what it skipped. Set it in
// Options.EventListener; every field is optional.
//
// The calls come one at a time, in the order the events happened, from a goroutine of the DB's
// own, never with a lock of the DB held: a listener may call the DB (Metrics, Property, even
// Put). The DB does not wait for a listener: events queue in memory while one runs, so a
// listener that blocks delays only the events after it, and Close waits until every event
// queued before it has been delivered (a listener blocked for ever keeps Close from
// returning). A listener that panics is recovered; the panic is written to the info log and
// delivery goes on with the next event. Nothing a listener does can damage the DB.
type EventListener struct {
	// FlushBegin and FlushEnd bracket the flush of a memtable to a level-0 (or deeper) table.
	FlushBegin, FlushEnd func(FlushInfo)
	// CompactionBegin and CompactionEnd bracket a compaction (a trivial move included).
	CompactionBegin, CompactionEnd func(CompactionInfo)
	// TableCreated is called when a flush or compaction has written a table; TableDeleted when
	// an obsolete table's file has been removed.
	TableCreated, TableDeleted func(TableInfo)
	// WriteStallBegin is called when writes start to wait, and WriteStallEnd when they go on,
	// with the reason and, at the end, how long the stall lasted.
	WriteStallBegin, WriteStallEnd func(WriteStallInfo)
	// BackgroundError is called with the error of a failed flush, compaction, log write or
	// MANIFEST update; writes fail from then on (see Metrics.BackgroundError).
	BackgroundError func(error)
	// DamageSkipped is called when Open, recovering the logs, skips damaged data rather than
	// failing (as leveldb does unless ParanoidChecks is set): writes in it are lost.
	DamageSkipped func(DamageInfo)
}

// FlushInfo describes a flush.
type FlushInfo struct {
	JobID int // numbers the flushes and compactions of this DB, from 1
	// MemTableBytes is the memtable's size, counted as WriteBufferSize counts it.
	MemTableBytes int
	// Table, Level and TableBytes are the table written and its level; at FlushEnd only
	// (Table is 0 when the memtable held nothing worth writing).
	Table      uint64
	Level      int
	TableBytes uint64
	Duration   time.Duration // at FlushEnd
	Err        error         // at FlushEnd: nil, or why the flush failed
}

// CompactionInfo describes a compaction.
type CompactionInfo struct {
	JobID int
	// Reason is "size" (a level over its target), "seek" (a table read past too often),
	// "manual" (CompactRange) or "move" (a table moved down without rewriting).
	Reason string
	// Level is the level compacted, OutputLevel the level written.
	Level, OutputLevel int
	// Inputs are the tables read; InputBytes their total size.
	Inputs     []uint64
	InputBytes uint64
	// Outputs and OutputBytes are the tables written; at CompactionEnd only.
	Outputs     []uint64
	OutputBytes uint64
	Duration    time.Duration // at CompactionEnd
	Err         error         // at CompactionEnd
}

// TableInfo describes a table file.
type TableInfo struct {
	Num   uint64
	Path  string
	Level int    // the level it was written to; -1 for TableDeleted
	Size  uint64 // 0 for TableDeleted
	// Reason is "flush", "compaction" or "load" (DB.NewLoader) for TableCreated, "obsolete" for
	// TableDeleted.
	Reason string
}

// WriteStallReason says why writes wait.
type WriteStallReason int

const (
	// StallMemTableFull: the memtable is full and the previous one is still being flushed.
	StallMemTableFull WriteStallReason = iota
	// StallL0Slowdown: level 0 holds L0SlowdownWritesTrigger (8) tables; each write is delayed
	// by a millisecond to let compaction catch up.
	StallL0Slowdown
	// StallL0Stop: level 0 holds L0StopWritesTrigger (12) tables; writes wait for compaction.
	StallL0Stop
	// StallMemory: a bulk load waits for room in the memory budget (Options.MemoryBudget) for
	// its buffers, held by other loads.
	StallMemory

	numStallReasons
)

// String returns "memtable-full", "l0-slowdown", "l0-stop" or "memory".
func (r WriteStallReason) String() string {
	switch r {
	case StallMemTableFull:
		return "memtable-full"
	case StallL0Slowdown:
		return "l0-slowdown"
	case StallL0Stop:
		return "l0-stop"
	case StallMemory:
		return "memory"
	}
	return fmt.Sprintf("WriteStallReason(%d)", int(r))
}

// WriteStallInfo describes a write stall.
type WriteStallInfo struct {
	Reason   WriteStallReason
	Duration time.Duration // at WriteStallEnd
}

// DamageInfo describes damaged data that recovery skipped.
type DamageInfo struct {
	File   string // the file's path
	Offset int64  // where the damage starts in it
	Bytes  int64  // how many bytes were skipped
	Reason string // what was wrong
}

// eventQueue delivers a listener's events from a goroutine of its own (see EventListener). A nil
// *eventQueue, the DB without a listener, drops every event at no cost.
type eventQueue struct {
	l    *EventListener
	logf func(format string, args ...any) // the info log, for a listener's panic

	mu      sync.Mutex
	cond    sync.Cond
	pending []func()
	closed  bool
	done    chan struct{}
}

// newEventQueue starts delivering to l; nil l gives a nil queue.
func newEventQueue(l *EventListener, logf func(string, ...any)) *eventQueue {
	if l == nil {
		return nil
	}
	q := &eventQueue{l: l, logf: logf, done: make(chan struct{})}
	q.cond.L = &q.mu
	go q.run()
	return q
}

// post queues call, which calls one of the listener's funcs. It never blocks for long and may
// be called with the DB's mutex held.
func (q *eventQueue) post(call func(l *EventListener)) {
	if q == nil {
		return
	}
	q.mu.Lock()
	if !q.closed {
		q.pending = append(q.pending, func() { call(q.l) })
		q.cond.Signal()
	}
	q.mu.Unlock()
}

// close delivers what is queued and stops the goroutine.
func (q *eventQueue) close() {
	if q == nil {
		return
	}
	q.mu.Lock()
	q.closed = true
	q.cond.Signal()
	q.mu.Unlock()
	<-q.done
}

func (q *eventQueue) run() {
	defer close(q.done)
	q.mu.Lock()
	for {
		for len(q.pending) == 0 && !q.closed {
			q.cond.Wait()
		}
		if len(q.pending) == 0 {
			q.mu.Unlock()
			return
		}
		batch := q.pending
		q.pending = nil
		q.mu.Unlock()
		for _, call := range batch {
			q.deliver(call)
		}
		q.mu.Lock()
	}
}

// deliver runs one call, recovering a panic.
func (q *eventQueue) deliver(call func()) {
	defer func() {
		if r := recover(); r != nil {
			q.logf("event listener panicked (the DB goes on): %v", r)
		}
	}()
	call()
}
