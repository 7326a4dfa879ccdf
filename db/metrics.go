package db

import (
	"github.com/stratadb/strata/memtable"
	"time"

	"github.com/stratadb/strata/compaction"
)

// Metrics is a snapshot of what a DB holds and what it has done since Open, from DB.Metrics.
// Counters count from Open; sizes are as of the call. Byte counts are file bytes (tables as
// written, compressed), except where a field says otherwise.
type Metrics struct {
	// Levels describes each level of the tree, 0 to 6.
	Levels [compaction.NumLevels]LevelMetrics

	Flush      FlushMetrics
	Compaction CompactionMetrics
	// Load counts the bulk loads committed (DB.NewLoader).
	Load LoadMetrics
	// Memory is what each part of the DB's own memory takes, against Options.MemoryBudget.
	Memory MemoryMetrics
	// WriteStalls counts the stalls of each reason (see WriteStallReason) and how long writes
	// waited in them: WriteStalls[StallL0Stop].Duration, say.
	WriteStalls [numStallReasons]StallMetrics

	MemTable   MemTableMetrics
	BlockCache CacheMetrics
	TableCache CacheMetrics
	WAL        WALMetrics
	// Recovery counts the damage Open skipped in the logs (each also reported to
	// EventListener.DamageSkipped).
	Recovery RecoveryMetrics

	// WriteAmplification is the bytes written to logs and tables divided by the bytes that came
	// in: those written to logs (the batches themselves) and the tables of bulk loads (written
	// once each, as they come in). 1 means nothing was written twice. 0 before any write.
	WriteAmplification float64
	// SpaceAmplification is the bytes of all tables divided by the bytes of the deepest level
	// that holds any: an estimate of the space that overwritten and deleted data still takes,
	// since the deepest level holds most of the live data once the tree is in shape. 0 for an
	// empty tree.
	SpaceAmplification float64

	// BackgroundError is the error that stopped writes (a failed flush, compaction, log write or
	// MANIFEST update), or nil.
	BackgroundError error
}

// LevelMetrics describes one level.
type LevelMetrics struct {
	Files int
	Bytes uint64
	// Score is the level's fill against its target: for level 0 its file count over the
	// compaction trigger (4), for levels 1 to 5 its bytes over the level's target size
	// (10 MiB times 10 per level below 1). A level scoring 1 or more is compacted next. Level 6
	// is not scored.
	Score float64
	// BytesRead and BytesWritten are what flushes and compactions into this level read and
	// wrote.
	BytesRead, BytesWritten uint64
}

// FlushMetrics counts memtable flushes.
type FlushMetrics struct {
	Count        int64
	BytesWritten uint64 // the tables' sizes
	Duration     time.Duration
}

// MemoryMetrics reports the DB's memory by part, each counted at the most it can take at the
// moment (see Options.MemoryBudget). The Go heap's own overhead, goroutine stacks and the pages
// of the log's mapping are not counted.
type MemoryMetrics struct {
	// Budget is Options.MemoryBudget (as sanitized; 0: none).
	Budget int64
	// MemTables is what the memtables hold (their arenas' capacity and their hash indexes):
	// the memtable, the one being flushed, and the spare kept for reuse.
	MemTables int64
	// BlockCache is the block cache's capacity (its use is BlockCache.Size in Metrics).
	BlockCache int64
	// TableIndexes is the memory the open tables' readers hold: their decoded indexes, and the
	// filters of tables read with ReadAt (a mapped table's filter is part of its mapping).
	TableIndexes int64
	// MappedTables is the size of the table files open through a memory mapping: the most
	// their pages can take of the process's resident memory.
	MappedTables int64
	// Loaders is what bulk loaders have reserved for their buffers.
	Loaders int64
}

// Total is the sum of the parts: with a budget, at most Budget, unless TableIndexes alone
// outgrew what the other parts leave (see Options.MemoryBudget).
func (m MemoryMetrics) Total() int64 {
	return m.MemTables + m.BlockCache + m.TableIndexes + m.MappedTables + m.Loaders
}

// LoadMetrics counts bulk loads.
type LoadMetrics struct {
	Count        int64
	BytesWritten uint64 // the tables' sizes
	// Remerges counts the loads whose tables were merged a second time, holding writers back,
	// because writes committed while they merged (see Loader.Commit).
	Remerges int64
}

// CompactionMetrics counts compactions.
type CompactionMetrics struct {
	// Count counts the compactions that rewrote data; Moves those that moved a table down by a
	// MANIFEST edit alone.
	Count, Moves int64
	BytesRead    uint64
	BytesWritten uint64
	Duration     time.Duration
}

// StallMetrics counts write stalls of one reason.
type StallMetrics struct {
	Count    int64
	Duration time.Duration
}

// MemTableMetrics describes the memtables.
type MemTableMetrics struct {
	// Size is the bytes the active and the immutable memtable hold, counted as
	// WriteBufferSize counts them; Count is 1, or 2 while one is being flushed.
	Size  int
	Count int
	// MemoryBytes is the memory they take: their arenas' capacity and their hash indexes.
	MemoryBytes int
}

// CacheMetrics describes the block cache or the table cache.
type CacheMetrics struct {
	// Size is the bytes cached (block cache) or the tables open (table cache); Capacity is the
	// budget, in the same unit.
	Size, Capacity int
	Hits, Misses   uint64
}

// WALMetrics counts the writes to the logs.
type WALMetrics struct {
	BytesWritten uint64 // record payloads: the write groups' batches
	Syncs        int64  // log syncs of synced write groups
	SyncedWrites int64  // writes those syncs made durable
}

// RecoveryMetrics counts damage recovery skipped.
type RecoveryMetrics struct {
	DamagedRecords int64
	BytesSkipped   int64
}

// Metrics returns the DB's metrics. It takes the DB's mutex briefly. After Close it returns the
// zero Metrics.
func (d *DB) Metrics() Metrics {
	if d.closed.Load() {
		return Metrics{}
	}
	var m Metrics
	d.mu.Lock()
	st := &d.mu.stats
	v := d.mu.vs.Current()
	var tableBytes, deepest uint64
	for level := range m.Levels {
		l := &m.Levels[level]
		l.Files, l.Bytes = v.NumFiles(level), v.LevelBytes(level)
		l.BytesRead, l.BytesWritten = st.levels[level].bytesRead, st.levels[level].bytesWritten
		switch {
		case level == 0:
			l.Score = float64(l.Files) / float64(d.vopts.L0CompactionTrigger)
		case level < compaction.NumLevels-1:
			l.Score = float64(l.Bytes) / d.vopts.MaxBytesForLevel(level)
		}
		tableBytes += l.Bytes
		if l.Bytes > 0 {
			deepest = l.Bytes
		}
	}
	m.Flush = FlushMetrics{Count: int64(st.flushes), BytesWritten: st.flushBytes, Duration: st.flushTime}
	m.Compaction = CompactionMetrics{Count: st.compactions, Moves: st.moves,
		BytesRead: st.compactionRead, BytesWritten: st.compactionWritten, Duration: st.compactionTime}
	m.WriteStalls = st.stalls
	m.Load = LoadMetrics{Count: st.loads, BytesWritten: st.loadBytes, Remerges: st.loadRemerges}
	m.Memory.Budget = d.opts.MemoryBudget
	for _, mem := range []*memtable.MemTable{d.mu.mem, d.mu.imm, d.spareMem.Load()} {
		if mem != nil {
			m.Memory.MemTables += int64(mem.MemoryBytes())
		}
	}
	m.WAL = WALMetrics{BytesWritten: st.walBytes, Syncs: int64(st.logSyncs), SyncedWrites: int64(st.syncedWrites)}
	m.Recovery = RecoveryMetrics{DamagedRecords: st.damaged, BytesSkipped: st.damagedBytes}
	if mem := d.mu.mem; mem != nil {
		m.MemTable = MemTableMetrics{Size: mem.Size(), Count: 1, MemoryBytes: mem.MemoryBytes()}
	}
	if imm := d.mu.imm; imm != nil {
		m.MemTable.Size += imm.Size()
		m.MemTable.Count++
		m.MemTable.MemoryBytes += imm.MemoryBytes()
	}
	m.BackgroundError = d.mu.bgErr
	d.mu.Unlock()

	if in := m.WAL.BytesWritten + m.Load.BytesWritten; in > 0 {
		m.WriteAmplification = float64(m.WAL.BytesWritten+m.Flush.BytesWritten+m.Compaction.BytesWritten+m.Load.BytesWritten) /
			float64(in)
	}
	if deepest > 0 {
		m.SpaceAmplification = float64(tableBytes) / float64(deepest)
	}
	bc := d.blocks.Stats()
	m.BlockCache = CacheMetrics{Size: bc.Size, Capacity: bc.Capacity, Hits: bc.Hits, Misses: bc.Misses}
	m.Memory.BlockCache = int64(bc.Capacity)
	m.Memory.MappedTables, m.Memory.TableIndexes, m.Memory.Loaders = d.budget.snapshot()
	tc := d.tables.stats()
	m.TableCache = CacheMetrics{Size: tc.Open, Capacity: tc.Capacity, Hits: tc.Hits, Misses: tc.Misses}
	return m
}
