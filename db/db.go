package db

import (
	"io"
	"sync"
	"sync/atomic"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/vfs"
	"github.com/stratadb/strata/memtable"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/sstable/cache"
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
	lock   io.Closer
	blocks *cache.BlockCache
	tables *tableCache

	lastSeq    atomic.Uint64 // the newest sequence number readers may see
	closed     atomic.Bool
	immPending atomic.Bool // mu.imm != nil: a running compaction checks it to flush first

	rsMu sync.RWMutex
	rs   *readState // guarded by rsMu; replaced under mu

	bgDone chan struct{} // closed when the background goroutine exits

	// groupBuf is the leader's scratch for concatenating a write group; only the leader uses it.
	groupBuf []byte

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

		writers   []*writer // the commit queue; writers[0] leads
		snapshots snapshotList

		bgErr          error // sticky: set by a failed log write, flush or MANIFEST update
		closing        bool
		closed         bool
		pendingOutputs map[uint64]struct{} // tables being written, not yet in a Version
		manual         *manualCompaction   // a queued CompactRange, or nil

		stats dbStats
	}
}

// readState is what a reader needs: the memtables and the Version current when it started. It is
// replaced, never changed, whenever one of them changes; a reader holding a reference keeps its
// tables from being deleted.
type readState struct {
	refs    atomic.Int32
	mem     *memtable.MemTable
	imm     *memtable.MemTable // may be nil
	version *compaction.Version
}

// loadReadState returns the current read state with a reference the caller must drop with
// unref, or nil once Close has released it.
func (d *DB) loadReadState() *readState {
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
	}
}

// updateReadStateLocked publishes a read state built from the current memtables and Version.
func (d *DB) updateReadStateLocked() {
	v := d.mu.vs.Current()
	v.Ref()
	rs := &readState{mem: d.mu.mem, imm: d.mu.imm, version: v}
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
	}
	d.mu.bgCond.Broadcast()
}

// memCapacity is the arena size of a new memtable that must hold at least need bytes of entries.
// The memtable is flushed once its Size (entries counted as leveldb counts them) passes
// WriteBufferSize, checked before each write group. The arena takes more per entry than that
// count (about 1.2 times for 100-byte values, 1.5 for tiny ones), and needs room for one more
// group on top (groups are capped at maxGroupBytes unless a single batch is larger). Should it
// fill first anyway, the memtable is flushed then.
func (d *DB) memCapacity(need int) int {
	return max(d.opts.WriteBufferSize+d.opts.WriteBufferSize/2+2*maxGroupBytes, need+4096)
}
