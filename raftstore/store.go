package raftstore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"

	"github.com/stratadb/strata/db"
)

// The interfaces a Store implements. It does not implement raft.MonotonicLogStore: it keeps
// gaps in the log as raft leaves them (see DeleteRange and docs/raft.md).
var (
	_ raft.LogStore    = (*Store)(nil)
	_ raft.StableStore = (*Store)(nil)
	_ io.Closer        = (*Store)(nil)
)

// ErrKeyNotFound is returned by Get and GetUint64 for a key that was never set. Its text is
// exactly "not found", which is what raft compares a StableStore's error with (it does not use
// errors.Is), as raft-boltdb's error of the same name.
var ErrKeyNotFound = errors.New("not found")

// Options configure a Store. A nil *Options means every default.
type Options struct {
	// DB configures the Strata DB under the store. Nil means DefaultDBOptions(). The store
	// uses the DB's default bytewise order whatever Comparator says: a store's keys must sort
	// by index.
	DB *db.Options

	// NoSync makes writes (StoreLogs, DeleteRange, Set, SetUint64) return once the operating
	// system has them, without waiting for the disk. They still survive the process being
	// killed, not a power loss or a kernel crash. Raft assumes that what its log store
	// acknowledges is durable (a vote or an entry counted towards a commit must not be
	// forgotten), so leave it false unless losing the last writes of a machine is acceptable.
	NoSync bool
}

// DefaultDBOptions returns the DB options a Store uses when Options.DB is nil: leveldb's
// defaults but a 16 MiB write buffer. A raft log is written once, read mostly at its tail
// (followers catching up, the FSM applying) and deleted from its head; a larger memtable keeps
// more of the tail in memory and makes a quarter as many level-0 tables, hence a quarter as
// many flushes and compactions competing with the appends for the disk. raft's defaults keep
// 10,240 trailing entries and snapshot every 8,192: at 1 KiB each, about 16 MiB.
func DefaultDBOptions() *db.Options {
	return &db.Options{WriteBufferSize: 16 << 20}
}

// Store is a raft.LogStore and raft.StableStore kept in one Strata DB. Log entries are keys
// of a log prefix followed by the big-endian index, so they sort by index; stable keys are
// another prefix followed by raft's key. docs/format/raftlog.md specifies both.
//
// Invariants:
//
//  1. When the log is not empty, first and last are the smallest and largest index present in
//     the DB, as of the writes that have returned; when it is empty, they are 0 and empty is
//     set. Only a write that holds writes (shared or exclusive) changes them, and it does so
//     after its DB write returned, under mu.
//  2. StoreLogs and the stable store's setters hold writes shared: they may run together, so
//     that concurrent calls share the DB's group commit and its one sync. DeleteRange holds it
//     exclusively, so that it reads and replaces the bounds with no write in between. Close
//     holds it exclusively too, so that it waits for the writes in progress.
//
// All methods are safe for concurrent use.
type Store struct {
	d  *db.DB
	wo *db.WriteOptions

	writes sync.RWMutex
	mu     struct {
		sync.Mutex
		empty       bool
		first, last uint64
	}
	closed atomic.Bool
}

// Open opens the store in dir, creating it (and the directory) when it does not exist, and
// finds the log's first and last index. A nil opts means every default. A directory that holds
// a Strata DB written by anything else than a Store is refused with an error matching
// db.ErrInvalidArgument; one in use by another process, with an error matching db.ErrLocked.
func Open(dir string, opts *Options) (*Store, error) {
	if opts == nil {
		opts = &Options{}
	}
	dbOpts := DefaultDBOptions()
	if opts.DB != nil {
		o := *opts.DB
		o.Comparator = nil
		dbOpts = &o
	}
	d, err := db.Open(dir, dbOpts)
	if err != nil {
		return nil, fmt.Errorf("raftstore: open %s: %w", dir, err)
	}
	s := &Store{d: d, wo: &db.WriteOptions{Sync: !opts.NoSync}}
	if err := s.checkFormat(); err != nil {
		d.Close()
		return nil, fmt.Errorf("raftstore: open %s: %w", dir, err)
	}
	if err := s.loadBounds(); err != nil {
		d.Close()
		return nil, fmt.Errorf("raftstore: open %s: %w", dir, err)
	}
	return s, nil
}

// checkFormat makes sure the DB is a store's: it holds formatValue at formatKey, or it is
// empty and gets it.
func (s *Store) checkFormat() error {
	v, err := s.d.Get(formatKey, nil)
	switch {
	case err == nil:
		if !bytes.Equal(v, formatValue) {
			return fmt.Errorf("%w: the DB's format is %q, this package writes %q", db.ErrInvalidArgument, v, formatValue)
		}
		return nil
	case !errors.Is(err, db.ErrNotFound):
		return err
	}
	it := s.d.NewIterator(nil)
	nonEmpty := it.First()
	if err := it.Close(); err != nil {
		return err
	}
	if nonEmpty {
		return fmt.Errorf("%w: the DB holds keys but no %q: not a raft store", db.ErrInvalidArgument, formatKey)
	}
	return s.d.Put(formatKey, formatValue, &db.WriteOptions{Sync: true})
}

// loadBounds sets the log's first and last index from the DB: its first and last log keys.
func (s *Store) loadBounds() error {
	first, ok, err := s.seekLog(logLower, true)
	if err != nil || !ok {
		s.setBounds(true, 0, 0)
		return err
	}
	last, _, err := s.seekLog(logUpper, false)
	if err != nil {
		return err
	}
	s.setBounds(false, first, last)
	return nil
}

// seekLog returns the index of the first log entry at or after the DB key from (forward), or
// of the last one before it (backward), and whether there is one. Its iterator is bounded to
// that side of from, so it never walks the deletions on the other side.
func (s *Store) seekLog(from []byte, forward bool) (index uint64, ok bool, err error) {
	ro := &db.ReadOptions{LowerBound: from, UpperBound: logUpper}
	if !forward {
		ro = &db.ReadOptions{LowerBound: logLower, UpperBound: from}
	}
	it := s.d.NewIterator(ro)
	if forward {
		ok = it.First()
	} else {
		ok = it.Last()
	}
	if ok {
		index, err = parseLogKey(it.Key())
	}
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	return index, ok && err == nil, err
}

func (s *Store) setBounds(empty bool, first, last uint64) {
	s.mu.Lock()
	s.mu.empty, s.mu.first, s.mu.last = empty, first, last
	s.mu.Unlock()
}

func (s *Store) bounds() (empty bool, first, last uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.empty, s.mu.first, s.mu.last
}

// Close closes the DB, after the writes in progress. Later calls return an error matching
// db.ErrClosed, and so does a second Close.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return db.ErrClosed
	}
	s.writes.Lock()
	defer s.writes.Unlock()
	return s.d.Close()
}

// writeBuf is the scratch of one write: the batch, a key and an encoded value. Pooled, so that
// StoreLogs allocates nothing once warm.
type writeBuf struct {
	b        db.Batch
	key, val []byte
}

var writeBufs = sync.Pool{New: func() any { return new(writeBuf) }}

// maxPooledBatch is the largest batch returned to the pool: a rare huge write does not pin its
// memory for ever.
const maxPooledBatch = 4 << 20

func putWriteBuf(w *writeBuf) {
	if w.b.Size() > maxPooledBatch || cap(w.val) > maxPooledBatch {
		return
	}
	w.b.Reset()
	writeBufs.Put(w)
}
