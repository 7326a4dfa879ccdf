package db

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/keys"
)

// Property returns the value of a named property and whether the name is known. The names are
// leveldb's, and one of Strata's:
//
//	leveldb.num-files-at-level<N>   the number of tables at level N
//	leveldb.stats                   per level: tables, size, compaction time, bytes read and written
//	leveldb.sstables                every level's tables with their key ranges
//	leveldb.approximate-memory-usage bytes held by memtables and the block cache
//	strata.mapped-log-bytes         bytes this DB wrote to logs through memory mappings since Open
//	                                (no write(2): a count of bytes written by system calls, such
//	                                as /proc/self/io's wchar, misses them)
func (d *DB) Property(name string) (string, bool) {
	if d.closed.Load() {
		return "", false
	}
	if name == "strata.mapped-log-bytes" {
		d.mu.Lock()
		defer d.mu.Unlock()
		n := d.mappedLogBytes.Load()
		if d.mu.log != nil { // a read-only DB has no log
			n += d.mu.log.f.MappedBytes()
		}
		return strconv.FormatInt(n, 10), true
	}
	rest, ok := strings.CutPrefix(name, "leveldb.")
	if !ok {
		return "", false
	}
	switch {
	case strings.HasPrefix(rest, "num-files-at-level"):
		digits := strings.TrimPrefix(rest, "num-files-at-level")
		level, err := strconv.Atoi(digits)
		if err != nil || digits == "" || digits[0] < '0' || digits[0] > '9' || level >= compaction.NumLevels {
			return "", false
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		return strconv.Itoa(d.mu.vs.NumLevelFiles(level)), true
	case rest == "stats":
		return d.statsString(), true
	case rest == "sstables":
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.mu.vs.Current().DebugString(), true
	case rest == "approximate-memory-usage":
		rs := d.loadReadState()
		if rs == nil {
			return "", false
		}
		defer rs.unref()
		total := d.blocks.Stats().Size + rs.mem.ApproximateMemoryUsage()
		if rs.imm != nil {
			total += rs.imm.ApproximateMemoryUsage()
		}
		return strconv.Itoa(total), true
	}
	return "", false
}

// statsString formats leveldb.stats: leveldb's table of compactions per level, then what
// Strata adds (flushes, write stalls, block cache).
func (d *DB) statsString() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var b strings.Builder
	b.WriteString("                               Compactions\n")
	b.WriteString("Level  Files Size(MB) Time(sec) Read(MB) Write(MB)\n")
	b.WriteString("--------------------------------------------------\n")
	v := d.mu.vs.Current()
	const mb = 1 << 20
	for level := 0; level < compaction.NumLevels; level++ {
		files := v.NumFiles(level)
		s := d.mu.stats.levels[level]
		if files == 0 && s.time == 0 {
			continue
		}
		fmt.Fprintf(&b, "%3d %8d %8.0f %9.0f %8.0f %9.0f\n", level, files,
			float64(v.LevelBytes(level))/mb, s.time.Seconds(),
			float64(s.bytesRead)/mb, float64(s.bytesWritten)/mb)
	}
	st := d.mu.stats
	fmt.Fprintf(&b, "Flushes: %d in %.3f s\n", st.flushes, st.flushTime.Seconds())
	fmt.Fprintf(&b, "Log syncs: %d for %d synced writes\n", st.logSyncs, st.syncedWrites)
	fmt.Fprintf(&b, "Write stalls: %.3f s delayed at the slowdown trigger, %.3f s waiting for a flush, %.3f s at the level-0 stop trigger\n",
		st.stalls[StallL0Slowdown].Duration.Seconds(), st.stalls[StallMemTableFull].Duration.Seconds(),
		st.stalls[StallL0Stop].Duration.Seconds())
	cs := d.blocks.Stats()
	fmt.Fprintf(&b, "Block cache: %d entries, %d of %d bytes, %d hits, %d misses\n",
		cs.Entries, cs.Size, cs.Capacity, cs.Hits, cs.Misses)
	return b.String()
}

// Range is a key range [Start, Limit) for ApproximateSizes.
type Range struct{ Start, Limit []byte }

// ApproximateSizes returns, for each range, about how many bytes of tables its keys take. Data
// still in memtables is not counted, as in leveldb.
func (d *DB) ApproximateSizes(ranges []Range) ([]uint64, error) {
	rs := d.loadReadState()
	if rs == nil {
		return nil, ErrClosed
	}
	defer rs.unref()
	sizes := make([]uint64, len(ranges))
	for i, r := range ranges {
		start, err := d.approximateOffsetOf(rs.version, r.Start)
		if err != nil {
			return nil, err
		}
		limit, err := d.approximateOffsetOf(rs.version, r.Limit)
		if err != nil {
			return nil, err
		}
		if limit > start {
			sizes[i] = limit - start
		}
	}
	return sizes, nil
}

// approximateOffsetOf estimates the bytes of tables holding keys before key, over all levels.
func (d *DB) approximateOffsetOf(v *compaction.Version, key []byte) (uint64, error) {
	ikey := keys.AppendInternalKey(nil, key, keys.MaxSeqNum, keys.KindMax)
	var total uint64
levels:
	for level, files := range v.Levels {
		for _, f := range files {
			switch {
			case d.icmp.Compare(f.Largest, ikey) <= 0:
				total += f.Size // the whole table is before key
			case d.icmp.Compare(f.Smallest, ikey) > 0:
				// The whole table is after key; in sorted levels so are the rest.
				if level > 0 {
					continue levels
				}
			default:
				h, err := d.tables.acquire(f.Num)
				if err != nil {
					return 0, err
				}
				total += h.Value().ApproximateOffsetOf(ikey)
				h.Release()
			}
		}
	}
	return total, nil
}
