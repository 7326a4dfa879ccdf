package db

import (
	"sync"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/logfile"
	"github.com/stratadb/strata/wal"
)

// The write-ahead log.
//
// Each memtable has a log: a new file, created when the memtable starts (at Open and at each
// log switch), that receives every write group as one record (wal.Writer) and is deleted once
// the memtable's flush is in the MANIFEST. The file is written through a logfile.Appender: space is
// reserved ahead with fallocate and each record is copied into a shared mapping of it, so a
// commit makes no system call (on filesystems and platforms without that, one write(2) per
// record). A synced group's record goes through pwrite instead, since the sync before it left
// its page write-protected (logfile.Appender.SetSyncNext). A record copied into the mapping is in the kernel's page cache, which is what
// leveldb promises of an unsynced write: it survives the process being killed at any instant.
// Sync is fdatasync. While the log is open the file is longer than its records, its tail zero;
// a clean switch or Close cuts it to its records, and after a crash readers take the zeros for
// its end (a record cut short by a kill ends in a zero header: see wal.InPlaceWriter).
//
// A log is mapped with huge pages (one page fault per 2 MiB of records instead of per 4 KiB)
// when the log it follows took no synced write: a sync writes back whole huge pages, so a log
// that serves synced writes uses small pages. A synced write arriving while the log has huge
// pages switches to a new log first (commit).

// logFile is the log the active memtable's writes go to.
type logFile struct {
	num  uint64
	f    *logfile.Appender
	w    *wal.Writer
	huge bool
	// dirSynced: the log's directory entry is durable.
	dirSynced bool
	// synced: a synced write went to this log.
	synced bool
}

// hugeLogMinBuffer is the smallest write buffer for which logs are mapped with huge pages: a
// log of a smaller buffer spans few 4 KiB pages, and a 2 MiB reservation would mostly be zeros.
const hugeLogMinBuffer = 1 << 20

// createLog creates log file num, reserving room for about one memtable of records. huge maps
// it with huge pages (see above).
func (d *DB) createLog(num uint64, huge bool) (*logFile, error) {
	name := filenames.Path(d.dir, filenames.Log, num)
	f, err := d.fs.Create(name)
	if err != nil {
		return nil, dberr.Wrap(err, "create log %s", name)
	}
	huge = huge && d.opts.WriteBufferSize >= hugeLogMinBuffer
	a := logfile.NewAppender(f, name, logfile.AppenderOptions{
		Reserve: int64(d.opts.WriteBufferSize + d.opts.WriteBufferSize/4),
		Huge:    huge,
	})
	return &logFile{num: num, f: a, w: wal.NewWriter(a), huge: huge}, nil
}

// retiredLog is the log of the immutable memtable, from the log switch that retired it to the
// flush that makes it obsolete. The switch does not sync it, so that writers never wait for a
// whole memtable's worth of log to reach the disk: the flush makes its writes durable in a table
// instead, and a synced write to the next log syncs it first (writeGroupLocked), so that a
// synced write never becomes durable without every write before it. Recovery keeps the same
// prefix after a power loss that took the retired log's unsynced tail but not the next log's
// (replayLogsLocked stops at the gap in sequence numbers).
type retiredLog struct {
	mu     sync.Mutex
	f      *logfile.Appender
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
