package db

import (
	"sync"

	"github.com/stratadb/strata/internal/vfs"
)

// retiredLog is the log of the immutable memtable, from the log switch that retired it to the
// flush that makes it obsolete. The switch does not sync it, so that writers never wait for a
// whole memtable's worth of log to reach the disk: the flush makes its writes durable in a table
// instead, and a synced write to the next log syncs it first (writeGroupLocked), so that a
// synced write never becomes durable without every write before it. Recovery keeps the same
// prefix after a power loss that took the retired log's unsynced tail but not the next log's
// (replayLogsLocked stops at the gap in sequence numbers).
type retiredLog struct {
	mu     sync.Mutex
	f      vfs.File
	num    uint64
	synced bool
	closed bool
}

// sync makes the retired log durable, once. After close it does nothing: close comes after
// the flush that made its writes durable in a table.
func (l *retiredLog) sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.synced || l.closed {
		return nil
	}
	if err := l.f.Sync(); err != nil {
		return err
	}
	l.synced = true
	return nil
}

// close closes the file, once.
func (l *retiredLog) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return l.f.Close()
}
