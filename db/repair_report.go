package db

// RepairReport says what RepairWithReport saved and what it could not. A program reads it
// instead of the LOG, which a later Open moves to LOG.old.
type RepairReport struct {
	// Tables is the number of tables the repaired DB holds, and Bytes their total size.
	Tables int
	Bytes  uint64
	// LastSequence is the largest sequence number found; the repaired DB's writes continue
	// after it.
	LastSequence uint64
	// LogsConverted is the number of write-ahead logs whose records were written to tables.
	LogsConverted int
	// SetAside lists the files moved to dir/lost/, as paths relative to dir ("lost/000012.log"),
	// in the order they were moved: logs once converted, damaged tables once their readable
	// entries were copied, tables the tree no longer used, old MANIFESTs. Setting a file aside
	// loses nothing by itself: what was lost is in Losses.
	SetAside []string
	// LogBytesDropped is the number of bytes of damaged log records that were skipped. A torn
	// record at the end of a log, a write that never completed and was never acknowledged, is
	// not counted.
	LogBytesDropped int64
	// Losses describes each piece of data that could not be saved, one short line each: a
	// table the MANIFEST named that is missing or unreadable, a damaged block of a table, bytes
	// of a log, a batch that does not decode. The LOG has the details, on lines containing
	// "LOST".
	Losses []string
}

// LostData reports whether the repair could not save everything: whether Losses is not
// empty.
func (r *RepairReport) LostData() bool { return len(r.Losses) > 0 }

// report builds the RepairReport of a finished repair.
func (r *repairer) report() *RepairReport {
	rep := &RepairReport{
		Tables:          len(r.tables),
		LastSequence:    uint64(r.lastSeq),
		LogsConverted:   r.logsConverted,
		SetAside:        r.setAside,
		LogBytesDropped: r.logBytesDropped,
		Losses:          r.losses,
	}
	for _, t := range r.tables {
		rep.Bytes += t.meta.Size
	}
	return rep
}
