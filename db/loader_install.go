package db

import (
	"runtime"
	"time"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/memtable"
)

// Commit finishes the load and makes all of it visible at once (see Loader); the Loader is done
// afterwards, whatever the outcome. When Commit returns nil the load is durable: its tables and
// their directory entries are synced before the MANIFEST edit that names them, which is synced
// too. On an error nothing of the load is in the DB, and its files are removed (a failed
// MANIFEST write leaves the DB refusing writes, as a failed flush does).
//
// Commit merges the runs and the last buffer into tables while reads and writes go on. Only if
// a write committed while it merged does it merge again at the head of the commit queue,
// holding writers back until it is done (see the notes in loader.go). A memtable that holds
// keys in the load's range is flushed first.
func (l *Loader) Commit() error {
	if l.done {
		return errLoaderDone
	}
	l.done = true
	d := l.d
	defer func() {
		d.removeLoadRuns(l.runs)
		l.release()
	}()
	if err := l.wait(); err != nil {
		return err
	}
	l.cur.sort(d.opts.Comparator, l.bytewise)
	if len(l.runs) == 0 && len(l.cur.ents) == 0 {
		return nil
	}
	lo, hi := l.bounds()
	if err := d.flushOverlapping(lo, hi); err != nil {
		return err
	}

	start := time.Now()
	seq := keys.SeqNum(d.lastSeq.Load()) + 1
	outs, err := d.mergeLoad(l, seq)
	if err != nil {
		return err
	}
	if testLoadMerged != nil {
		testLoadMerged(d)
	}
	err = d.commits.exclusive(func() error {
		return d.installLoadLocked(l, &outs, &seq, lo, hi, start)
	})
	if err != nil {
		d.removeLoadOutputs(outs)
	}
	return err
}

// testLoadMerged, when set by a test, is called after Commit's first merge.
var testLoadMerged func(*DB)

// bounds returns the smallest and largest key of the load.
func (l *Loader) bounds() (lo, hi []byte) {
	c := l.d.opts.Comparator
	take := func(a, b []byte) {
		if lo == nil || c.Compare(a, lo) < 0 {
			lo = a
		}
		if hi == nil || c.Compare(b, hi) > 0 {
			hi = b
		}
	}
	for _, r := range l.runs {
		take(r.lo, r.hi)
	}
	if ents := l.cur.ents; len(ents) > 0 {
		take(l.cur.key(ents[0]), l.cur.key(ents[len(ents)-1]))
	}
	return lo, hi
}

// sources opens the load's inputs, oldest first, with their ranks.
func (l *Loader) sources() ([]loadSource, []int, error) {
	srcs := make([]loadSource, 0, len(l.runs)+1)
	ranks := make([]int, 0, len(l.runs)+1)
	for _, r := range l.runs {
		s, err := l.d.openLoadRun(r)
		if err != nil {
			for _, s := range srcs {
				s.close()
			}
			return nil, nil, err
		}
		srcs, ranks = append(srcs, s), append(ranks, r.rank)
	}
	srcs = append(srcs, newBufferSource(l.cur, l.d.opts.Comparator))
	ranks = append(ranks, len(l.runs)+1)
	return srcs, ranks, nil
}

// Commit's merge runs in parallel when the machine has more than one core and the load is
// large: the key space is cut at the quartiles of the load's largest source into two ranges
// (four from four cores on), and each range is merged by a goroutine of its own, with its own
// readers of every source, into tables of its own. Since the ranges are disjoint, so are their
// tables, and the result is the one merge would give but for where tables are cut. Loading
// 100,000,000 names on 2 cores, the merge took 39 s alone.
const loadMaxWays = 4

// loadParallelMin is the number of entries from which Commit merges in parallel (a Loader's
// parallelMin, which tests lower).
const loadParallelMin = 1 << 20

// splits returns the keys at which Commit cuts the merge, ascending: none for a small load or
// on one core.
func (l *Loader) splits() [][]byte {
	ways := min(runtime.GOMAXPROCS(0), loadMaxWays)
	if ways < 2 {
		return nil
	}
	total, most := len(l.cur.ents), len(l.cur.ents)
	var q [][]byte
	if most > 0 {
		q = l.cur.quartiles()
	}
	for _, r := range l.runs {
		total += r.entries
		if r.entries > most {
			most, q = r.entries, r.quartiles
		}
	}
	if total < l.parallelMin || len(q) != 3 {
		return nil
	}
	if ways < 4 {
		q = q[1:2] // the median
	}
	c := l.d.opts.Comparator
	var out [][]byte
	for _, k := range q {
		if len(out) == 0 || c.Compare(k, out[len(out)-1]) > 0 {
			out = append(out, k)
		}
	}
	return out
}

// mergeLoad merges the load's sources into new tables, each entry with sequence number seq,
// cut at the DB's table size; in parallel over ranges of keys for a large load (see splits).
// The tables are synced and stay in pendingOutputs; on an error none is left.
func (d *DB) mergeLoad(l *Loader, seq keys.SeqNum) ([]*compaction.FileMetadata, error) {
	splits := l.splits()
	if len(splits) == 0 {
		return d.mergeLoadRange(l, seq, nil, nil)
	}
	bounds := append(append([][]byte{nil}, splits...), nil)
	parts := make([][]*compaction.FileMetadata, len(bounds)-1)
	errs := make([]error, len(parts))
	inParallel(len(parts), func(i int) {
		parts[i], errs[i] = d.mergeLoadRange(l, seq, bounds[i], bounds[i+1])
	})
	var outs []*compaction.FileMetadata
	for _, p := range parts {
		outs = append(outs, p...)
	}
	for _, err := range errs {
		if err != nil {
			d.removeLoadOutputs(outs)
			return nil, err
		}
	}
	return outs, nil
}

// mergeLoadRange merges the load's keys in [lo, hi) (nil for no bound) into new tables; on an
// error it removes those it wrote.
func (d *DB) mergeLoadRange(l *Loader, seq keys.SeqNum, lo, hi []byte) (outs []*compaction.FileMetadata, err error) {
	srcs, ranks, err := l.sources()
	if err != nil {
		return nil, err
	}
	m := newLoadMerger(d.opts.Comparator, srcs, ranks, lo, hi)
	var out *tableOutput
	defer func() {
		if cerr := m.close(); err == nil && cerr != nil {
			err = dberr.Wrap(cerr, "read bulk load run")
		}
		if err != nil {
			if out != nil {
				out.abandon()
				d.releaseLoadNumber(out.num)
			}
			d.removeLoadOutputs(outs)
			outs = nil
		}
	}()
	var ikey []byte
	limit := uint64(d.opts.MaxFileSize)
	for m.next() {
		if out == nil {
			num, err := d.newLoadFileNumber()
			if err != nil {
				return outs, err
			}
			if out, err = d.newTableOutput(num); err != nil {
				d.releaseLoadNumber(num)
				return outs, err
			}
		}
		ikey = keys.AppendInternalKey(ikey[:0], m.key(), seq, keys.KindSet)
		if err := out.add(ikey, m.value()); err != nil {
			return outs, dberr.Wrap(err, "write table %s", out.path)
		}
		if out.w.EstimatedSize() >= limit {
			meta, err := d.finishLoadTable(out)
			out = nil
			if err != nil {
				return outs, err
			}
			outs = append(outs, meta)
		}
	}
	if m.err != nil {
		return outs, dberr.Wrap(m.err, "read bulk load run")
	}
	if out != nil {
		meta, err := d.finishLoadTable(out)
		out = nil
		if err != nil {
			return outs, err
		}
		outs = append(outs, meta)
	}
	return outs, nil
}

// finishLoadTable finishes a load's table; on failure its number is released.
func (d *DB) finishLoadTable(out *tableOutput) (*compaction.FileMetadata, error) {
	meta, err := out.finish()
	if err != nil || meta == nil {
		d.releaseLoadNumber(out.num)
	}
	return meta, err
}

func (d *DB) releaseLoadNumber(num uint64) {
	d.mu.Lock()
	delete(d.mu.pendingOutputs, num)
	d.mu.Unlock()
}

// removeLoadOutputs removes tables a load wrote but did not install.
func (d *DB) removeLoadOutputs(outs []*compaction.FileMetadata) {
	for _, m := range outs {
		d.tables.evict(m.Num)
		_ = d.fs.Remove(filenames.Path(d.dir, filenames.Table, m.Num))
		d.releaseLoadNumber(m.Num)
	}
}

// flushOverlapping flushes the memtables if either holds a key in [lo, hi].
func (d *DB) flushOverlapping(lo, hi []byte) error {
	rs := d.loadReadState()
	if rs == nil {
		return ErrClosed
	}
	overlap := d.memOverlaps(rs.mem, lo, hi) || (rs.imm != nil && d.memOverlaps(rs.imm, lo, hi))
	rs.unref()
	if !overlap {
		return nil
	}
	return d.flushMemTable()
}

// memOverlaps reports whether m holds an entry of a user key in [lo, hi].
func (d *DB) memOverlaps(m *memtable.MemTable, lo, hi []byte) bool {
	it := m.NewIterator()
	defer it.Close()
	return it.SeekGE(keys.AppendInternalKey(nil, lo, keys.MaxSeqNum, keys.KindMax)) &&
		d.opts.Comparator.Compare(keys.UserKey(it.Key()), hi) <= 0
}

// installLoadLocked installs a load's tables, *outs, merged with sequence number *seq, as the
// head of the commit queue: no write commits until it returns. If a write committed since *seq
// was taken, it merges again with a new one (writers wait meanwhile); if the memtable holds keys
// of [lo, hi], it flushes it first. Then it waits for a running compaction (whose outputs could
// overlap a table's place) and keeps others from starting, places each table at the deepest
// level where nothing at it or above overlaps it, logs the edit with *seq as the last sequence
// number, and publishes it. d.mu is held, and released while it waits and writes.
func (d *DB) installLoadLocked(l *Loader, outs *[]*compaction.FileMetadata, seq *keys.SeqNum, lo, hi []byte, start time.Time) error {
	for {
		if d.mu.bgErr != nil {
			return d.mu.bgErr
		}
		if d.mu.closing {
			return ErrClosed
		}
		if d.memOverlaps(d.mu.mem, lo, hi) || (d.mu.imm != nil && d.memOverlaps(d.mu.imm, lo, hi)) {
			// Written before *seq or since: either way the memtables go to tables first.
			if err := d.makeRoomLocked(nil, 0, false, true); err != nil {
				return err
			}
			for d.mu.imm != nil && d.mu.bgErr == nil && !d.mu.closing {
				d.mu.bgCond.Wait()
			}
			continue
		}
		if keys.SeqNum(d.lastSeq.Load()) == *seq-1 {
			break
		}
		// Writes committed during the merge, with sequence numbers above *seq: merge again
		// above them. None can commit now.
		d.mu.stats.loadRemerges++
		next := keys.SeqNum(d.lastSeq.Load()) + 1
		d.mu.Unlock()
		d.removeLoadOutputs(*outs)
		again, err := d.mergeLoad(l, next)
		d.mu.Lock()
		*outs, *seq = again, next
		if err != nil {
			return err
		}
	}

	d.mu.loading = true
	defer func() {
		d.mu.loading = false
		d.mu.bgCond.Broadcast()
	}()
	for d.mu.compacting && d.mu.bgErr == nil && !d.mu.closing {
		d.mu.bgCond.Wait()
	}
	if d.mu.bgErr != nil {
		return d.mu.bgErr
	}
	if d.mu.closing {
		return ErrClosed
	}
	v := d.mu.vs.Current()
	var edit compaction.VersionEdit
	levels := make([]int, len(*outs))
	for i, m := range *outs {
		levels[i] = loadLevel(v, m.SmallestUser(), m.LargestUser())
		edit.AddFile(levels[i], m)
	}
	d.mu.vs.SetLastSequence(*seq)
	if err := d.mu.vs.LogAndApply(&edit, &d.mu.Mutex); err != nil {
		// The edit may have reached the MANIFEST (a failed sync): the tables stay, for the
		// next Open to keep (the edit is there) or delete (it is not). The DB deletes no file
		// after a background error.
		for _, m := range *outs {
			delete(d.mu.pendingOutputs, m.Num)
		}
		*outs = nil
		err = dberr.Wrap(err, "bulk load")
		d.setBgErrLocked(err)
		return err
	}
	// The Version with the tables first, then the sequence number that makes them visible: a
	// reader never holds *seq with a Version that lacks them.
	d.updateReadStateLocked()
	d.mu.history.lapseAll()
	d.lastSeq.Store(uint64(*seq))

	took := time.Since(start)
	var bytes uint64
	for i, m := range *outs {
		delete(d.mu.pendingOutputs, m.Num)
		d.mu.stats.levels[levels[i]].add(0, 0, m.Size)
		d.tableCreatedLocked(m, levels[i], "load")
		bytes += m.Size
	}
	d.mu.stats.loads++
	d.mu.stats.loadBytes += bytes
	d.info.Printf("bulk load: %d tables, %d bytes, sequence number %d, in %v", len(*outs), bytes, *seq, took)
	d.mu.bgCond.Broadcast() // the tree changed: a compaction may be due
	return nil
}

// loadLevel returns the level for a loaded table of user keys [lo, hi] in v: the deepest level
// such that no file at it or above overlaps the table, or 0 when one at level 0 does.
func loadLevel(v *compaction.Version, lo, hi []byte) int {
	level := 0
	for l := 0; l < compaction.NumLevels; l++ {
		if v.OverlapInLevel(l, lo, hi) {
			break
		}
		level = l
	}
	return level
}
