package db

// needsCompactionLocked reports whether the tree needs a compaction. Background compaction comes
// with the compaction issue; until then only flushes run.
func (d *DB) needsCompactionLocked() bool { return false }

// compactLocked runs one background compaction.
func (d *DB) compactLocked() {}

// CompactRange compacts the key range [start, limit] (nil = unbounded).
func (d *DB) CompactRange(start, limit []byte) error {
	if d.closed.Load() {
		return ErrClosed
	}
	return nil
}
