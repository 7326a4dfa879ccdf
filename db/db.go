package db

import (
	"io"
	"sync"
	"sync/atomic"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/memtable"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/sstable/cache"
	"github.com/stratadb/strata/vfs"
)

// DB is an open database. See the package documentation.
type DB struct {
	dir    string
	opts   Options // sanitized
	fs     vfs.FS
	icmp   *keys.InternalComparator
	filter sstable.FilterPolicy // nil when BloomBitsPerKey < 0
	vopts  *compaction.Options
	info   infoLog
	events *eventQueue // nil without Options.EventListener
	lock   io.Closer
	blocks *cache.BlockCache
	tables *tableCache

	lastSeq atomic.Uint64 // the newest sequence number readers may see
	closed  atomic.Bool

	rsMu sync.RWMutex
	rs   *readState // guarded by rsMu; replaced under mu

	// spareMem is a memtable of the standard capacity that nothing uses any more, kept for the
	// next log switch to reuse (newMemTableLocked), or nil. See recycleMem.
	spareMem atomic.Pointer[memtable.MemTable]
	// stdMemCapacity is the Capacity of a memtable made for need 0; set by Open.
	stdMemCapacity int
	// budget accounts for memory against Options.MemoryBudget (budget.go).
	budget *memBudget

	// mappedLogBytes counts the bytes written to finished logs through their mappings
	// (logfile.Appender.MappedBytes); the strata.mapped-log-bytes property adds the current log's.
	mappedLogBytes atomic.Int64

	bgDone chan struct{}  // closed when the background goroutines have exited
	bgWG   sync.WaitGroup // the background goroutines (background.go)

	// commits is the commit queue (commit.go); its fields are guarded by mu.
	commits commitQueue

	mu struct {
		sync.Mutex
		// bgCond wakes the background goroutine (work to do, closing) and writers waiting for it
		// (a flush or compaction finished, or failed).
		bgCond sync.Cond

		mem     *memtable.MemTable
		imm     *memtable.MemTable // being flushed, or nil
		log     *logFile           // the log mem's writes go to
		prevLog *retiredLog        // imm's log, until imm's flush is in the MANIFEST; else nil
		vs      *compaction.VersionSet

		snapshots snapshotList

		bgErr          error // sticky: set by a failed log write, flush or MANIFEST update
		closing        bool
		closed         bool
		pendingOutputs map[uint64]struct{} // tables being written, not yet in a Version
		manual         *manualCompaction   // a queued CompactRange, or nil
		// The background goroutines' coordination (background.go): a compaction runs; a
		// flush is between choosing its table's level and installing it; obsolete files are
		// being deleted, and another pass was asked for meanwhile.
		compacting, flushInstalling bool
		// loading is set while a bulk load places and installs its tables: no compaction
		// starts meanwhile (loader_install.go).
		loading               bool
		deleting, deleteAgain bool

		stats dbStats
		// history keeps the write groups open transactions are checked against (txn_check.go).
		history commitHistory
	}
}

// readState is what a reader needs: the memtables and the Version current when it started. It is
// replaced, never changed, whenever one of them changes; a reader holding a reference keeps its
// tables from being deleted and its memtables from being recycled.
type readState struct {
	d       *DB
	refs    atomic.Int32
	mem     *memtable.MemTable
	imm     *memtable.MemTable // may be nil
	version *compaction.Version
}

// loadReadState returns the current read state with a reference the caller must drop with
// unref, or nil once Close has begun (a caller returns ErrClosed then).
func (d *DB) loadReadState() *readState {
	if d.closed.Load() {
		return nil
	}
	d.rsMu.RLock()
	rs := d.rs
	if rs != nil {
		rs.refs.Add(1)
	}
	d.rsMu.RUnlock()
	return rs
}

func (rs *readState) unref() {
	if rs.refs.Add(-1) == 0 {
		rs.version.Unref()
		rs.d.releaseMem(rs.mem)
		if rs.imm != nil {
			rs.d.releaseMem(rs.imm)
		}
	}
}

// updateReadStateLocked publishes a read state built from the current memtables and Version.
func (d *DB) updateReadStateLocked() {
	v := d.mu.vs.Current()
	v.Ref()
	rs := &readState{d: d, mem: d.mu.mem, imm: d.mu.imm, version: v}
	rs.mem.Ref()
	if rs.imm != nil {
		rs.imm.Ref()
	}
	rs.refs.Store(1)
	d.rsMu.Lock()
	old := d.rs
	d.rs = rs
	d.rsMu.Unlock()
	if old != nil {
		old.unref()
	}
}

// setBgErrLocked records the first background error; writes fail from now on.
func (d *DB) setBgErrLocked(err error) {
	if d.mu.bgErr == nil {
		d.mu.bgErr = err
		d.info.Printf("background error, the DB refuses writes from now on: %v", err)
		d.backgroundErrorLocked(err)
	}
	d.mu.bgCond.Broadcast()
}

// Memtable recycling.
//
// A memtable's users are counted (MemTable.Ref): the DB itself while the table is d.mu.mem or
// d.mu.imm, and every read state that holds it (readers, iterators). When the last one lets go
// of a table of the standard capacity, releaseMem keeps it as the spare, and the next log switch
// resets and reuses it (newMemTableLocked) instead of allocating a new arena: a fresh arena
// costs a page fault per 4 KiB page on its first use, and on virtual machines where a fault
// takes ten microseconds that was 7% of a sequential fill. So at most three arenas exist while
// writes go on: the memtable, the immutable one, and the spare (or an older table a reader still
// holds).
//
// The arenas of the memtables the DB makes for writes live outside the Go heap
// (memtable.NewOffHeap): tens of megabytes of arenas counted in the heap would let the garbage
// collector, which paces itself by the heap's size, leave as much again of garbage resident (a
// fill of 1M keys peaked at 82 MB instead of 60). So a table is freed when its last user lets
// go of it and it does not become the spare, a spare replaced is freed, and Close frees the
// rest; a table whose user never lets go (an iterator left open after Close) is never freed.

// releaseMem drops one user of m; the last user makes it the spare, or frees it.
func (d *DB) releaseMem(m *memtable.MemTable) {
	if !m.Unref() {
		return
	}
	if m.Capacity() == d.stdMemCapacity {
		if old := d.spareMem.Swap(m); old != nil {
			old.Free()
		}
		return
	}
	m.Free()
}

// newMemTableLocked returns an empty memtable able to take a write group needing need arena
// bytes: the spare, reset, when it is large enough, else a new one.
func (d *DB) newMemTableLocked(need int) *memtable.MemTable {
	if capacity := d.memCapacity(need); capacity == d.memCapacity(0) {
		if m := d.spareMem.Swap(nil); m != nil {
			m.Reset()
			return m
		}
	}
	return memtable.NewOffHeap(d.opts.Comparator, d.memCapacity(need))
}

// memCapacity is the arena size of a new memtable that must hold at least need bytes of entries.
// The memtable is flushed once its Size (entries counted as leveldb counts them) passes
// WriteBufferSize, checked before each write group. The arena takes more per entry than that
// count (about 1.2 times for 100-byte values, 1.5 for tiny ones), and has room for one more
// group on top: twice maxGroupBytes, the cap of a group of small batches, or twice the write
// buffer when that is smaller (a group never takes more than the arena has left, so a small
// buffer only cuts groups shorter; it does not pay for, and zero, megabytes of headroom at each
// Open). Should the arena fill first anyway, the memtable is flushed then.
func (d *DB) memCapacity(need int) int {
	wbs := d.opts.WriteBufferSize
	return max(wbs+wbs/2+2*min(maxGroupBytes, wbs), need+4096)
}

// memFootprint is the memory a new memtable of the standard capacity takes: its arena and its
// hash index (memtable.StartingMemory).
func (d *DB) memFootprint() int { return memtable.StartingMemory(d.opts.Comparator, d.memCapacity(0)) }
