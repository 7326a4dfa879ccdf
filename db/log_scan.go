package db

import (
	"github.com/stratadb/strata/internal/batch"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/vfs"
	"github.com/stratadb/strata/wal"
)

// logScan says what scanLog does with the damage it meets in a log. Recovery and Repair read
// logs with it; they differ only in what damage they tolerate and how they report it.
type logScan struct {
	// dropped, when set, is told of each damaged stretch the reader skips (its offset, its
	// length and why); when nil, damage is an error, as ParanoidChecks asks.
	dropped func(off int64, n int, err error)
	// torn is told of a torn tail (a write a crash cut short, never acknowledged), which ends
	// the log.
	torn func(err error)
	// bad is told of a record of n bytes that is not a valid batch: its error stops the scan,
	// nil skips the record.
	bad func(err error, n int) error
}

// scanLog hands every valid batch of the log at name to apply, in order, with its offset, until
// the log ends, apply fails or damage is not tolerated (see logScan).
func scanLog(fs vfs.FS, name string, s logScan, apply func(rec []byte, off int64) error) error {
	f, err := fs.Open(name)
	if err != nil {
		return dberr.Wrap(err, "open log")
	}
	defer f.Close()
	r := wal.NewReader(f, name)
	if s.dropped != nil {
		r.SkipCorruption(s.dropped)
	}
	return r.Each(s.torn, func(rec []byte, off int64) error {
		if err := batch.Validate(rec, name, off); err != nil {
			return s.bad(err, len(rec))
		}
		return apply(rec, off)
	})
}
