package db

import (
	"time"

	"github.com/stratadb/strata/compaction"
)

// dbStats are the counters `leveldb.stats` prints. Guarded by d.mu.
type dbStats struct {
	levels        [compaction.NumLevels]levelStats
	flushes       int
	flushTime     time.Duration
	stallSlowdown time.Duration // writes delayed at the slowdown trigger
	stallMemtable time.Duration // writes waiting for a flush
	stallL0       time.Duration // writes waiting at the level-0 stop trigger
	split         int           // compactions run as subcompactions
	logSyncs      int           // log syncs by synced write groups
	syncedWrites  int           // writes those groups held
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
