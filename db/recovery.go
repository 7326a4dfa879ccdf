package db

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/batch"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/memtable"
	"github.com/stratadb/strata/wal"
)

// replayLogsLocked replays, oldest first, every log at or above the MANIFEST's log number (and
// its previous log number), writing what they hold to level-0 tables that it adds to edit. Like
// C++ leveldb it replays every batch, including those whose sequence numbers are at or below the
// MANIFEST's last sequence (leveldb records its newest sequence at each flush, so such batches
// are normal), and raises the last sequence to the newest it saw.
func (d *DB) replayLogsLocked(names []string, edit *compaction.VersionEdit) error {
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
	maxSeq := vs.LastSequence()
	for _, num := range logs {
		vs.MarkFileNumberUsed(num)
		seq, err := d.replayLogLocked(num, edit)
		if err != nil {
			return err
		}
		maxSeq = max(maxSeq, seq)
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
	return fmt.Errorf("strata: open %s: %w", d.dir, dberr.Corruptf(manifest, dberr.NoOffset,
		"names log %06d as current, which is missing while the newer %s exists: edits were lost from the MANIFEST; Repair recovers the DB",
		named, filenames.Name(filenames.Log, logs[len(logs)-1])))
}

// replayLogLocked replays one log and returns the newest sequence number it held. Damage is
// fatal with ParanoidChecks; otherwise the damaged records are skipped and reported in the LOG,
// as leveldb does. A torn tail (a record cut short by a crash while it was appended, so never
// acknowledged) ends the log quietly.
func (d *DB) replayLogLocked(num uint64, edit *compaction.VersionEdit) (keys.SeqNum, error) {
	name := filenames.Path(d.dir, filenames.Log, num)
	f, err := d.fs.Open(name)
	if err != nil {
		return 0, fmt.Errorf("strata: open log: %w", err)
	}
	defer f.Close()
	r := wal.NewReader(f, name)
	paranoid := d.opts.ParanoidChecks
	if !paranoid {
		r.SkipCorruption(func(offset int64, dropped int, err error) {
			d.info.Printf("%s: dropped %d bytes at offset %d: %v", name, dropped, offset, err)
		})
	}
	var (
		mem     *memtable.MemTable
		maxSeq  keys.SeqNum
		records int
	)
	flush := func() error {
		if mem == nil || mem.Empty() {
			return nil
		}
		_, err := d.writeLevel0TableLocked(mem.NewIterator(), nil, edit)
		mem = nil
		return err
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, wal.ErrTornTail) {
			d.info.Printf("%s: %v (a write cut short by a crash; it was never acknowledged)", name, err)
			break
		}
		if err != nil {
			return 0, err
		}
		if err := batch.Validate(rec, name, r.Offset()); err != nil {
			if paranoid {
				return 0, err
			}
			d.info.Printf("%s: skipping a damaged batch: %v", name, err)
			continue
		}
		repr := batch.Repr(rec)
		if bound := arenaBound(repr); mem == nil || mem.Available() < bound {
			if err := flush(); err != nil {
				return 0, err
			}
			mem = memtable.New(d.opts.Comparator, d.memCapacity(bound))
		}
		if err := batch.Apply(rec, name, r.Offset(), func(seq keys.SeqNum, kind keys.Kind, key, value []byte) error {
			return mem.Add(seq, kind, key, value)
		}); err != nil {
			return 0, err
		}
		records++
		if repr.Count() > 0 {
			maxSeq = max(maxSeq, repr.Seq()+keys.SeqNum(repr.Count())-1)
		}
		if mem.ApproximateMemoryUsage() > d.opts.WriteBufferSize {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := flush(); err != nil {
		return 0, err
	}
	d.info.Printf("replayed log #%d: %d records, newest sequence %d", num, records, maxSeq)
	return maxSeq, nil
}
