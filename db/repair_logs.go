package db

// Repair, step 5: the logs the DB had not flushed, converted to level-0 tables.

import (
	"fmt"

	"github.com/stratadb/strata/internal/batch"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/memtable"
)

// convertLogs converts the unflushed logs to tables, oldest first; see step 5.
func (r *repairer) convertLogs() error {
	for _, num := range r.logs {
		r.archive = append(r.archive, filenames.Name(filenames.Log, num))
		if num < r.flushed && !r.prevLogs[num] {
			r.logf("log #%d: not converted: MANIFEST edits say it was flushed (log number %d)", num, r.flushed)
			continue
		}
		if err := r.convertLog(num); err != nil {
			return err
		}
	}
	return nil
}

// convertLog writes the intact batches of log num to level-0 tables, a memtable's worth each.
func (r *repairer) convertLog(num uint64) error {
	c := &logConversion{r: r, num: num, name: filenames.Path(r.dir, filenames.Log, num)}
	c.fill = memFill{d: r.d, flush: c.flush}
	scan := logScan{
		dropped: func(offset int64, dropped int, err error) {
			r.logBytesDropped += int64(dropped)
			r.lose(fmt.Sprintf("%d bytes of log #%d", dropped, num), "log #%d: dropped %d bytes at offset %d: %v", num, dropped, offset, err)
		},
		torn: func(err error) {
			r.logf("log #%d: %v (a write cut short by a crash, never acknowledged); the log ends there", num, err)
		},
		bad: func(err error, _ int) error {
			c.skip(err)
			return nil
		},
	}
	err := scanLog(r.fs, c.name, scan, c.add)
	if err == nil {
		err = c.fill.done()
	}
	if err != nil {
		return dberr.Wrap(err, "repair: log #%d", num)
	}
	r.logsConverted++
	r.logf("log #%d: %d batches, %d entries saved to tables %v", num, c.batches, c.entries, c.outputs)
	return nil
}

// logConversion is a log being converted to tables: the memtables it fills, and what it wrote.
type logConversion struct {
	r    *repairer
	num  uint64
	name string // the log's path
	fill memFill

	batches, entries int
	outputs          []uint64 // the tables written
}

// skip reports a damaged batch, which the conversion leaves out.
func (c *logConversion) skip(err error) {
	c.r.lose(fmt.Sprintf("a batch of log #%d", c.num), "log #%d: skipping a damaged batch: %v", c.num, err)
}

// add puts the valid batch rec, read at offset off, in the memtable (see memFill). A batch whose
// sequence numbers would pass the maximum is reported and skipped.
func (c *logConversion) add(rec []byte, off int64) error {
	repr := batch.Repr(rec)
	if repr.Count() > 0 && uint64(repr.Seq())+uint64(repr.Count())-1 > uint64(keys.MaxSeqNum) {
		c.skip(dberr.Corruptf(c.name, off, "batch: sequence numbers from %d for %d entries pass the maximum", repr.Seq(), repr.Count()))
		return nil
	}
	if err := c.fill.add(rec, c.name, off); err != nil {
		return err
	}
	c.batches++
	c.entries += int(repr.Count())
	if repr.Count() > 0 {
		c.r.lastSeq = max(c.r.lastSeq, repr.Seq()+keys.SeqNum(repr.Count())-1)
	}
	return nil
}

// flush writes a memtable the log filled, whose newest sequence number is newest, to a new
// level-0 table.
func (c *logConversion) flush(mem *memtable.MemTable, newest keys.SeqNum) error {
	r := c.r
	num := r.newFileNumber()
	n := mem.Len()
	meta, err := r.d.buildTable(num, mem.NewIterator(), nil)
	r.d.tables.evict(num)
	if err != nil || meta == nil {
		return err
	}
	r.tables = append(r.tables, &repairTable{num: num, name: filenames.Name(filenames.Table, num), meta: meta, maxSeq: newest, entries: n})
	c.outputs = append(c.outputs, num)
	return nil
}
