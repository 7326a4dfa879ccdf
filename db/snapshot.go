package db

import (
	"sync/atomic"

	"github.com/stratadb/strata/internal/keys"
)

// Snapshot is a consistent, read-only view of the DB as of its creation: reads through it see
// every write that returned before NewSnapshot and none after. Release it when done, so that
// compaction may discard the versions it keeps alive. Safe for concurrent use.
type Snapshot struct {
	db         *DB
	seq        keys.SeqNum
	prev, next *Snapshot // in db.mu.snapshots; guarded by db.mu
	released   atomic.Bool
}

func (s *Snapshot) isReleased() bool { return s.released.Load() }

// snapshotList is a circular doubly-linked list of live snapshots, oldest first, with a sentinel.
type snapshotList struct {
	root Snapshot
}

func (l *snapshotList) init() { l.root.prev, l.root.next = &l.root, &l.root }

func (l *snapshotList) empty() bool { return l.root.next == &l.root }

// pushBack appends s, the newest snapshot.
func (l *snapshotList) pushBack(s *Snapshot) {
	s.prev, s.next = l.root.prev, &l.root
	s.prev.next, l.root.prev = s, s
}

func (l *snapshotList) remove(s *Snapshot) {
	s.prev.next, s.next.prev = s.next, s.prev
	s.prev, s.next = nil, nil
}

// oldest returns the sequence number of the oldest snapshot, or ok == false when there is none.
func (l *snapshotList) oldest() (keys.SeqNum, bool) {
	if l.empty() {
		return 0, false
	}
	return l.root.next.seq, true
}

// NewSnapshot returns a snapshot of the current state. On a closed DB every read through the
// snapshot fails with ErrClosed.
func (d *DB) NewSnapshot() *Snapshot {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := &Snapshot{db: d, seq: keys.SeqNum(d.lastSeq.Load())}
	if d.mu.closed {
		s.released.Store(true)
		return s
	}
	d.mu.snapshots.pushBack(s)
	return s
}

// Release releases the snapshot, so compaction may discard the old versions it kept. Releasing
// twice is harmless; reads through a released snapshot fail with ErrInvalidArgument.
func (s *Snapshot) Release() {
	if s == nil || s.db == nil {
		return
	}
	d := s.db
	d.mu.Lock()
	defer d.mu.Unlock()
	if s.released.Load() {
		return
	}
	s.released.Store(true)
	d.mu.snapshots.remove(s)
}
