package db

import (
	"time"

	"github.com/stratadb/strata/compaction"
)

// dbStats are the counters `leveldb.stats` prints. Guarded by d.mu.
type dbStats struct {
	levels       [compaction.NumLevels]levelStats
	flushes      int
	flushTime    time.Duration
	flushBytes   uint64
	split        int // compactions run as subcompactions
	logSyncs     int // log syncs by synced write groups
	syncedWrites int // writes those groups held
	walBytes     uint64
	// Compactions that rewrote data, and trivial moves.
	compactions, moves                int64
	compactionRead, compactionWritten uint64
	compactionTime                    time.Duration
	// Write stalls by reason (WriteStallReason); leveldb.stats prints their durations.
	stalls [numStallReasons]StallMetrics
	// Damage recovery skipped: records (or stretches) and bytes.
	damaged, damagedBytes int64
	jobs                  int // flushes and compactions started, for their events' JobID
	// Bulk loads committed, the bytes of their tables, and merges made again because writes
	// committed during one (loader_install.go).
	loads, loadRemerges int64
	loadBytes           uint64
}

// levelStats count the work of flushes and compactions that wrote to a level.
type levelStats struct {
	time         time.Duration
	bytesRead    uint64
	bytesWritten uint64
}

func (s *levelStats) add(d time.Duration, read, written uint64) {
	s.time += d
	s.bytesRead += read
	s.bytesWritten += written
}
