package db

import (
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/stratadb/strata/internal/batch"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/memtable"
)

// replayLogsLocked replays, oldest first, every log at or above the MANIFEST's log number (and
// its previous log number) into memtables, handing each one it fills to flush (a memFill's):
// Open writes them to level-0 tables, a read-only Open keeps them (readonly.go). Like
// C++ leveldb it replays every batch, including those whose sequence numbers are at or below the
// MANIFEST's last sequence (leveldb records its newest sequence at each flush, so such batches
// are normal), and raises the last sequence to the newest it saw. When a power loss took the
// unsynced end of a log but kept writes of a later one, it stops before the later logs, so that
// the DB holds a prefix of the writes (see retiredLog and replayLogLocked).
func (d *DB) replayLogsLocked(names []string, flush func(mem *memtable.MemTable, newest keys.SeqNum) error) error {
	vs := d.mu.vs
	var logs []uint64
	for _, n := range names {
		if kind, num, ok := filenames.Parse(n); ok && kind == filenames.Log &&
			(num >= vs.LogNumber() || num == vs.PrevLogNumber()) {
			logs = append(logs, num)
		}
	}
	sort.Slice(logs, func(i, j int) bool { return logs[i] < logs[j] })
	if err := d.checkLogNamedLocked(logs); err != nil {
		return err
	}
	for _, num := range logs {
		vs.MarkFileNumberUsed(num)
	}
	maxSeq := vs.LastSequence()
	var end keys.SeqNum // the newest sequence number of the logs replayed so far
	for i, num := range logs {
		res, err := d.replayLogLocked(num, flush, end)
		if err != nil {
			return err
		}
		if res.gap {
			d.info.Printf("log #%d and %d later logs not replayed: it starts past sequence %d, where the "+
				"log before ended; the writes in between, never synced, were lost with the end of that "+
				"log in a crash, so the writes after them are left out too, keeping a prefix of the "+
				"writes (none of them was acknowledged as synced)", num, len(logs)-i-1, end)
			d.reportLogsSkippedLocked(logs[i:], "not replayed: the writes before it were lost in a crash")
			break
		}
		maxSeq = max(maxSeq, res.newest)
		if res.newest != 0 {
			end = res.newest
		}
		if later := len(logs) - i - 1; later > 0 && (res.torn || !res.wrote) {
			// A log switch happens only after a write to the old log completed, so a log followed
			// by another one held at least one whole write and no cut one: a crash took its
			// unsynced end (all of it, if it has no write left).
			d.info.Printf("log #%d lost its end in a crash (%s), so the writes of the %d later logs, "+
				"which came after, are not replayed, keeping a prefix of the writes (none of them was "+
				"acknowledged as synced)", num, map[bool]string{true: "cut short", false: "no write left"}[res.torn], later)
			d.reportLogsSkippedLocked(logs[i+1:], fmt.Sprintf("not replayed: log #%d before it lost its end in a crash", num))
			break
		}
	}
	vs.SetLastSequence(maxSeq)
	return nil
}

// checkLogNamedLocked fails with ErrCorruption when the log the MANIFEST names as current is
// missing while a newer log exists (logs are the logs to replay, sorted). The named log is
// deleted only after an edit retiring it is synced, and its successor is created before that
// edit: so this state means the MANIFEST lost edits that were acted on (damage cut it short at
// a record boundary, which reads like a clean end), and opening its older Version would silently
// lose the writes those edits had flushed, and then delete the tables that hold them. Repair
// recovers such a DB. (Log number 0, as leveldb's repair writes, names no log; and Strata's
// Repair names a number no log has yet, with no newer log beside it.)
func (d *DB) checkLogNamedLocked(logs []uint64) error {
	named := d.mu.vs.LogNumber()
	if named == 0 || len(logs) == 0 || slices.Contains(logs, named) || logs[len(logs)-1] < named {
		return nil
	}
	manifest := filenames.Path(d.dir, filenames.Manifest, d.mu.vs.ManifestFileNumber())
	return dberr.Wrap(dberr.Corruptf(manifest, dberr.NoOffset,
		"names log %06d as current, which is missing while the newer %s exists: edits were lost from the MANIFEST; Repair recovers the DB",
		named, filenames.Name(filenames.Log, logs[len(logs)-1])), "open %s", d.dir)
}

// logReplay is what replayLogLocked found in a log.
type logReplay struct {
	newest keys.SeqNum // the newest sequence number replayed, 0 if none
	wrote  bool        // a write (a batch with entries) was replayed
	torn   bool        // the log ended in a record cut short
	gap    bool        // nothing was replayed: the log starts past where the one before ended
}

// replayLogLocked replays one log, handing the memtables it fills to flush, and reports the
// newest sequence number it held. Damage is fatal with ParanoidChecks; otherwise the damaged
// records are skipped and reported (to the info log, as leveldb does, and the EventListener). A
// torn tail (a record cut short by a crash while it was appended, so never acknowledged) ends
// the log quietly.
//
// after is the newest sequence number of the log replayed before this one (0 for the first).
// Writes take consecutive sequence numbers, and a log switch starts the next log where the
// last ended, so when this log's first write starts past after+1, writes between them are
// missing: the unsynced end of the previous log, lost in a crash that kept this log's writes
// (the switch does not sync the retired log; see retiredLog). Then it replays nothing and
// returns gap, and the caller replays no later log, so that the DB holds a prefix of the writes.
func (d *DB) replayLogLocked(num uint64, flush func(*memtable.MemTable, keys.SeqNum) error, after keys.SeqNum) (res logReplay, _ error) {
	name := filenames.Path(d.dir, filenames.Log, num)
	paranoid := d.opts.ParanoidChecks
	scan := logScan{
		torn: func(err error) {
			d.info.Printf("%s: %v (a write cut short by a crash; it was never acknowledged)", name, err)
			res.torn = true
		},
		bad: func(err error, n int) error {
			if paranoid {
				return err
			}
			d.info.Printf("%s: skipping a damaged batch: %v", name, err)
			d.reportDamageLocked(name, n, err)
			return nil
		},
	}
	if !paranoid {
		scan.dropped = func(offset int64, dropped int, err error) {
			d.info.Printf("%s: dropped %d bytes at offset %d: %v", name, dropped, offset, err)
			d.reportDamageAtLocked(name, offset, int64(dropped), err)
		}
	}
	var (
		maxSeq  keys.SeqNum
		records int
	)
	fill := memFill{d: d, flush: flush}
	err := scanLog(d.fs, name, scan, func(rec []byte, off int64) error {
		repr := batch.Repr(rec)
		if !res.wrote && repr.Count() > 0 {
			if after != 0 && repr.Seq() > after+1 {
				return errLogGap
			}
			res.wrote = true
		}
		if err := fill.add(rec, name, off); err != nil {
			return err
		}
		records++
		if repr.Count() > 0 {
			maxSeq = max(maxSeq, repr.Seq()+keys.SeqNum(repr.Count())-1)
		}
		return nil
	})
	if err == errLogGap {
		return logReplay{gap: true}, nil
	}
	if err == nil {
		err = fill.done()
	}
	if err != nil {
		return res, err
	}
	d.info.Printf("replayed log #%d: %d records, newest sequence %d", num, records, maxSeq)
	res.newest = maxSeq
	return res, nil
}

// errLogGap stops the replay of a log whose first write does not follow the previous log's last.
var errLogGap = errors.New("sequence gap before the log")

// memFill puts a log's batches into memtables, a memtable's worth at a time, and hands each one
// it fills to flush (which writes it to a level-0 table) with the newest sequence number in it.
// Recovery and Repair both turn logs into tables with it.
type memFill struct {
	d     *DB
	flush func(mem *memtable.MemTable, newest keys.SeqNum) error
	mem   *memtable.MemTable
	seq   keys.SeqNum // the newest sequence number in mem
}

// add applies the valid batch rec, read at off in the log named name: into a new memtable when
// the current one has no room for it, and flushing the memtable after it once it passes the
// write buffer size.
func (m *memFill) add(rec []byte, name string, off int64) error {
	repr := batch.Repr(rec)
	if bound := arenaBound(repr); m.mem == nil || m.mem.Available() < bound {
		if err := m.done(); err != nil {
			return err
		}
		m.mem, m.seq = memtable.New(m.d.opts.Comparator, m.d.memCapacity(bound)), 0
	}
	if err := batch.Apply(rec, name, off, func(seq keys.SeqNum, kind keys.Kind, key, value []byte) error {
		return m.mem.Add(seq, kind, key, value)
	}); err != nil {
		return err
	}
	if repr.Count() > 0 {
		m.seq = max(m.seq, repr.Seq()+keys.SeqNum(repr.Count())-1)
	}
	if m.mem.Size() > m.d.opts.WriteBufferSize {
		return m.done()
	}
	return nil
}

// done flushes the memtable, if it holds anything.
func (m *memFill) done() error {
	mem := m.mem
	m.mem = nil
	if mem == nil || mem.Empty() {
		return nil
	}
	return m.flush(mem, m.seq)
}

// reportLogsSkippedLocked reports the logs that recovery leaves out, whole, to keep a prefix of
// the writes: their unsynced writes are lost.
func (d *DB) reportLogsSkippedLocked(nums []uint64, why string) {
	for _, num := range nums {
		name := filenames.Path(d.dir, filenames.Log, num)
		var size int64
		if fi, err := d.fs.Stat(name); err == nil {
			size = fi.Size()
		}
		d.reportDamageAtLocked(name, 0, size, errors.New(why))
	}
}
