package raftstore

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/stratadb/strata/db"
)

// The stable store: raft keeps its current term, its vote and the like here. Keys and values
// are any bytes; a uint64 is stored as 8 bytes, big-endian. Set and SetUint64 share one key
// space: GetUint64 of a key set by Set fails unless its value is 8 bytes long.

// Set sets key to val, durably (unless Options.NoSync) when it returns.
func (s *Store) Set(key, val []byte) error {
	if s.closed.Load() {
		return db.ErrClosed
	}
	w := writeBufs.Get().(*writeBuf)
	defer putWriteBuf(w)
	w.key = appendStableKey(w.key[:0], key)
	s.writes.RLock()
	defer s.writes.RUnlock()
	if err := s.d.Put(w.key, val, s.wo); err != nil {
		return fmt.Errorf("raftstore: set %q: %w", key, err)
	}
	return nil
}

// Get returns the value of key, a slice the caller owns, or ErrKeyNotFound (not wrapped: its
// text is what raft checks).
func (s *Store) Get(key []byte) ([]byte, error) {
	if s.closed.Load() {
		return nil, db.ErrClosed
	}
	var kb [64]byte
	v, err := s.d.Get(appendStableKey(kb[:0], key), nil)
	if errors.Is(err, db.ErrNotFound) {
		return nil, ErrKeyNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("raftstore: get %q: %w", key, err)
	}
	return v, nil
}

// SetUint64 sets key to val, as 8 bytes big-endian.
func (s *Store) SetUint64(key []byte, val uint64) error {
	var vb [8]byte
	binary.BigEndian.PutUint64(vb[:], val)
	return s.Set(key, vb[:])
}

// GetUint64 returns the value of key set by SetUint64, or 0 and ErrKeyNotFound (not wrapped).
// A value that is not 8 bytes long gives an error wrapping ErrCorruption.
func (s *Store) GetUint64(key []byte) (uint64, error) {
	v, err := s.Get(key)
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: stable key %q holds %d bytes, not a uint64's 8", ErrCorruption, key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}
