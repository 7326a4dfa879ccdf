package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/stratadb/strata/internal/batch"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/vfs"
	"github.com/stratadb/strata/wal"
)

var logCommand = &command{
	synopsis: "sstdump log [flags] LOG",
	summary:  "print each WriteBatch record of a write-ahead log (.log)",
	doc: `
Prints each record of the log: its offset, the batch's sequence number and count, and its
operations, one per line ("put KEY -> VALUE", "del KEY"; operation i of a batch has sequence
number seq+i), then a summary line.

Damage is reported on stderr, one line per problem naming the file and offset, and reading
goes on after it (as leveldb's recovery does without paranoid checks); the exit status is
then 1. A torn tail (the file ends inside a record) is what a crash during a write leaves
behind; that write was never acknowledged, and the DB ignores it on recovery. It is shown
as the last line ("torn tail") and does not change the exit status.`,
	flags: func(fs *flag.FlagSet) func(*env, []string) error {
		var bf bytesFormat
		fs.BoolVar(&bf.hex, "hex", false, "print keys and values as hex")
		fs.IntVar(&bf.maxValue, "max-value", 0, "print at most `N` bytes of each value (0: all)")
		return func(e *env, args []string) error {
			if err := needArgs("log", args, 1, 1, "LOG"); err != nil {
				return err
			}
			if bf.maxValue < 0 {
				return usagef("log", "log: --max-value must not be negative")
			}
			return dumpLog(e, args[0], bf)
		}
	},
}

// logVisitor receives what walkLog finds, in file order.
type logVisitor struct {
	record  func(off int64, rec []byte) error // a record; an error stops the walk
	corrupt func(err error)                   // damaged bytes, dropped
	torn    func(err error)                   // the torn tail, the last thing seen
}

// walkLog reads the records of the log in f, going past damage as leveldb's recovery does. It
// returns I/O errors and whatever v.record returns; damage goes to v.corrupt.
func walkLog(f io.Reader, path string, v logVisitor) error {
	r := wal.NewReader(f, path)
	r.SkipCorruption(func(off int64, dropped int, err error) {
		var ce *dberr.CorruptionError
		if errors.As(err, &ce) {
			c := *ce
			c.Reason += fmt.Sprintf(" (%d bytes dropped)", dropped)
			err = &c
		}
		v.corrupt(err)
	})
	for {
		rec, err := r.Next()
		switch {
		case err == io.EOF:
			return nil
		case errors.Is(err, wal.ErrTornTail):
			v.torn(err)
			return nil
		case err != nil:
			if isCorruption(err) { // not expected in recovery mode, but damage all the same
				v.corrupt(err)
				return nil
			}
			return err
		}
		if err := v.record(r.Offset(), rec); err != nil {
			return err
		}
	}
}

// tornText describes a torn tail for the output.
func tornText(err error) string {
	var te *wal.TornTailError
	if errors.As(err, &te) {
		return fmt.Sprintf("offset %d: torn tail: %s; a write cut short by a crash, never acknowledged: not an error", te.Offset, te.Reason)
	}
	return err.Error()
}

// logStats counts what a log holds.
type logStats struct {
	records, ops, puts, dels int
	firstSeq, lastSeq        keys.SeqNum // of the operations; lastSeq < firstSeq when none
	nextSeq                  keys.SeqNum // the sequence number the next batch should have at least
	haveSeq                  bool
}

// batchVisitor receives each operation of a batch.
type batchVisitor func(seq keys.SeqNum, kind keys.Kind, key, value []byte) error

// readBatch decodes the batch in rec (at off in the log), updates st and reports damage: a
// batch that does not decode, or whose sequence numbers go back. ops, if not nil, receives the
// operations decoded before any damage.
func readBatch(path string, off int64, rec []byte, st *logStats, report func(error), ops batchVisitor) error {
	st.records++
	br, err := batch.NewReader(rec, path, off)
	if err != nil {
		report(err)
		return nil
	}
	seq := br.Seq()
	if st.haveSeq && seq < st.nextSeq {
		report(corruptf(path, off, "batch sequence number %d goes back: the previous batch ends at %d", seq, st.nextSeq-1))
	}
	n := keys.SeqNum(0)
	for kind, key, value, ok := br.Next(); ok; kind, key, value, ok = br.Next() {
		s := seq + n
		n++
		st.ops++
		if kind == keys.KindDelete {
			st.dels++
		} else {
			st.puts++
		}
		if st.ops == 1 {
			st.firstSeq = s
		}
		st.lastSeq = s
		if ops != nil {
			if err := ops(s, kind, key, value); err != nil {
				return err
			}
		}
	}
	if err := br.Err(); err != nil {
		report(err)
	}
	if end := seq + keys.SeqNum(br.Count()); !st.haveSeq || end > st.nextSeq {
		st.nextSeq = end
	}
	st.haveSeq = true
	return nil
}

func (st *logStats) summary() string {
	s := fmt.Sprintf("%d records, %d operations (%d put, %d del)", st.records, st.ops, st.puts, st.dels)
	if st.ops > 0 {
		s += fmt.Sprintf(", sequence numbers %d to %d", st.firstSeq, st.lastSeq)
	}
	return s
}

func dumpLog(e *env, path string, bf bytesFormat) error {
	f, _, err := openFile(e, path)
	if err != nil {
		e.fileError(path, err)
		return nil
	}
	defer f.Close()
	var (
		st   logStats
		line []byte
	)
	report := func(err error) { e.errorf(exitProblem, "%s", problemText(path, err)) }
	err = walkLog(f, path, logVisitor{
		record: func(off int64, rec []byte) error {
			var br batch.Reader
			if b, err := batch.NewReader(rec, path, off); err == nil {
				br = b
				fmt.Fprintf(e.out.w, "offset %d: seq %d, count %d, %d bytes\n", off, br.Seq(), br.Count(), len(rec))
			} else {
				fmt.Fprintf(e.out.w, "offset %d: %d bytes, not a WriteBatch\n", off, len(rec))
			}
			err := readBatch(path, off, rec, &st, report, func(seq keys.SeqNum, kind keys.Kind, key, value []byte) error {
				line = append(line[:0], "  "...)
				if kind == keys.KindDelete {
					line = append(line, "del "...)
					line = bf.appendBytes(line, key)
				} else {
					line = append(line, "put "...)
					line = bf.appendBytes(line, key)
					line = append(line, " ->"...)
					if len(value) > 0 {
						line = append(line, ' ')
						line = bf.appendValue(line, value)
					}
				}
				line = append(line, '\n')
				e.out.write(line)
				return e.out.err()
			})
			if err != nil {
				return err
			}
			return e.out.err()
		},
		corrupt: report,
		torn: func(err error) {
			e.out.str(tornText(err) + "\n")
		},
	})
	if err != nil {
		if isOutputError(err) {
			return err
		}
		e.fileError(path, err)
		return nil
	}
	e.out.str("summary: " + st.summary() + "\n")
	return nil
}

// checkLog checks every record of the log at path: framing, checksums, batches and sequence
// numbers. A torn tail is a note, not a problem.
func checkLog(e *env, f vfs.File, path string, r *reporter) (logStats, error) {
	var st logStats
	err := walkLog(&progressReader{f, e.prog}, path, logVisitor{
		record: func(off int64, rec []byte) error {
			return readBatch(path, off, rec, &st, r.report, nil)
		},
		corrupt: r.report,
		torn: func(err error) {
			r.print(path + ": note: " + tornText(err))
		},
	})
	return st, err
}

// progressReader counts the bytes read into a progress.
type progressReader struct {
	r    io.Reader
	prog *progress
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.prog.add(int64(n))
	return n, err
}
