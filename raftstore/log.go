package raftstore

import (
	"errors"
	"fmt"

	"github.com/hashicorp/raft"

	"github.com/stratadb/strata/db"
)

// FirstIndex returns the smallest index in the log, or 0 when it is empty. It reads no disk:
// the store keeps the bounds in memory.
func (s *Store) FirstIndex() (uint64, error) {
	if s.closed.Load() {
		return 0, db.ErrClosed
	}
	_, first, _ := s.bounds()
	return first, nil
}

// LastIndex returns the largest index in the log, or 0 when it is empty. It reads no disk.
func (s *Store) LastIndex() (uint64, error) {
	if s.closed.Load() {
		return 0, db.ErrClosed
	}
	_, _, last := s.bounds()
	return last, nil
}

// GetLog reads the entry at index into l, or returns raft.ErrLogNotFound (itself, not
// wrapped: raft compares with ==). An index outside [FirstIndex, LastIndex] is answered from
// memory, so reads of a deleted prefix cost nothing. l's Data and Extensions are fresh slices
// that the caller owns.
func (s *Store) GetLog(index uint64, l *raft.Log) error {
	if s.closed.Load() {
		return db.ErrClosed
	}
	if empty, first, last := s.bounds(); empty || index < first || index > last {
		return raft.ErrLogNotFound
	}
	var kb [logKeyLen]byte
	v, err := s.d.Get(appendLogKey(kb[:0], index), nil)
	if errors.Is(err, db.ErrNotFound) {
		return raft.ErrLogNotFound
	}
	if err != nil {
		return fmt.Errorf("raftstore: get log %d: %w", index, err)
	}
	return decodeEntry(index, v, l)
}

// StoreLog stores one entry; see StoreLogs.
func (s *Store) StoreLog(l *raft.Log) error {
	return s.StoreLogs([]*raft.Log{l})
}

// StoreLogs stores the entries in one atomic DB write, synced unless Options.NoSync: when it
// returns, all of them are durable, and after a crash either all of them are there or none.
// An entry replaces any entry at its index. Indexes need not be contiguous or ordered.
// Concurrent calls share the DB's group commit: one log record and one sync for the group.
func (s *Store) StoreLogs(logs []*raft.Log) error {
	if s.closed.Load() {
		return db.ErrClosed
	}
	if len(logs) == 0 {
		return nil
	}
	w := writeBufs.Get().(*writeBuf)
	defer putWriteBuf(w)
	lo, hi := logs[0].Index, logs[0].Index
	for _, l := range logs {
		lo, hi = min(lo, l.Index), max(hi, l.Index)
		w.key = appendLogKey(w.key[:0], l.Index)
		w.val = appendEntry(w.val[:0], l)
		w.b.Put(w.key, w.val)
	}

	s.writes.RLock()
	defer s.writes.RUnlock()
	if err := s.d.Write(&w.b, s.wo); err != nil {
		return fmt.Errorf("raftstore: store logs %d-%d: %w", lo, hi, err)
	}
	s.mu.Lock()
	if s.mu.empty {
		s.mu.empty, s.mu.first, s.mu.last = false, lo, hi
	} else {
		s.mu.first, s.mu.last = min(s.mu.first, lo), max(s.mu.last, hi)
	}
	s.mu.Unlock()
	return nil
}

// blindDeleteSpan is the widest range DeleteRange deletes without reading: one deletion per
// index, whether the entry exists or not. raft deletes the log's head after each snapshot, by
// default about 8,192 to 18,432 entries (SnapshotThreshold, plus TrailingLogs once), all
// present, so reading them first would only cost. A wider range may span a gap that raft left
// after installing a snapshot (the old entries, then the new ones from far above); one deletion
// per index of the gap could be millions, so a wider range is walked with an iterator and only
// the keys present are deleted. 65,536 deletions of 9-byte keys make a batch of about 1 MiB.
const blindDeleteSpan = 1 << 16

// DeleteRange deletes the entries from minIndex to maxIndex inclusive, in one atomic DB write (synced
// unless Options.NoSync). A range with minIndex > maxIndex, or outside the log, deletes nothing. When it
// removes the log's first or last entry, it finds the new one with one bounded seek.
//
// Deleted entries become tombstones in the DB, dropped by compaction later (it is not forced
// here): until then they take disk space, but they cost reads nothing, since FirstIndex moves
// past them and GetLog answers indexes outside the log from memory.
func (s *Store) DeleteRange(minIndex, maxIndex uint64) error {
	if s.closed.Load() {
		return db.ErrClosed
	}
	s.writes.Lock()
	defer s.writes.Unlock()
	empty, first, last := s.bounds()
	if empty || minIndex > maxIndex || maxIndex < first || minIndex > last {
		return nil
	}
	lo, hi := max(minIndex, first), min(maxIndex, last)

	w := writeBufs.Get().(*writeBuf)
	defer putWriteBuf(w)
	if err := s.collectDeletes(&w.b, w.key, lo, hi); err != nil {
		return fmt.Errorf("raftstore: delete range %d-%d: %w", minIndex, maxIndex, err)
	}
	if err := s.d.Write(&w.b, s.wo); err != nil {
		return fmt.Errorf("raftstore: delete range %d-%d: %w", minIndex, maxIndex, err)
	}

	var err error
	switch {
	case lo == first && hi == last:
		s.setBounds(true, 0, 0)
	case lo == first: // hi < last: an entry remains above hi
		var kb [logKeyLen]byte
		first, _, err = s.seekLog(appendLogKey(kb[:0], hi+1), true)
		s.setBounds(false, first, last)
	case hi == last: // lo > first: an entry remains below lo
		var kb [logKeyLen]byte
		last, _, err = s.seekLog(appendLogKey(kb[:0], lo), false)
		s.setBounds(false, first, last)
	}
	if err != nil {
		// The deletion is done but the bounds are unknown: read them again from the start.
		if lerr := s.loadBounds(); lerr != nil {
			return fmt.Errorf("raftstore: delete range %d-%d: finding the log's new bounds: %w", minIndex, maxIndex, errors.Join(err, lerr))
		}
	}
	return nil
}

// collectDeletes adds to b the deletion of every entry in [lo, hi], a range within the log's
// bounds: blindly when it is at most blindDeleteSpan wide, else by walking the keys present.
// key is scratch.
func (s *Store) collectDeletes(b *db.Batch, key []byte, lo, hi uint64) error {
	if hi-lo < blindDeleteSpan {
		for i := lo; ; i++ {
			key = appendLogKey(key[:0], i)
			b.Delete(key)
			if i == hi { // not i <= hi in the loop: hi may be the largest uint64
				return nil
			}
		}
	}
	var lower [logKeyLen]byte
	ro := &db.ReadOptions{LowerBound: appendLogKey(lower[:0], lo), UpperBound: logUpper, DontFillCache: true}
	it := s.d.NewIterator(ro)
	for ok := it.First(); ok; ok = it.Next() {
		i, err := parseLogKey(it.Key())
		if err != nil {
			it.Close()
			return err
		}
		if i > hi {
			break
		}
		b.Delete(it.Key())
	}
	return it.Close()
}
