package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/stratadb/strata/internal/batch"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/vfs"
	"github.com/stratadb/strata/wal"
)

var logCommand = &command{
	synopsis: "sstdump log [flags] LOG",
	summary:  "print each WriteBatch record of a write-ahead log (.log)",
	arg:      "LOG",
	doc: `
Prints each record of the log: its offset, the batch's sequence number and count, and its
operations, one per line ("put KEY -> VALUE", "del KEY"; operation i of a batch has sequence
number seq+i), then a summary line.

Damage is reported on stderr, one line per problem naming the file and offset, and reading
goes on after it (as leveldb's recovery does without paranoid checks); the exit status is
then 1. A torn tail (the file ends inside a record) is what a crash during a write leaves
behind; that write was never acknowledged, and the DB ignores it on recovery. It is shown
as the last line ("torn tail") and does not change the exit status.

Values longer than 256 bytes are cut in text output; --full-values prints them whole,
--max-value N cuts at N. With --format=json each record is one JSON object with its
operations, then the torn tail and the summary (see docs/sstdump.md).`,
	flags: func(fs *flag.FlagSet) func(*env, []string) error {
		var (
			bf     bytesFormat
			values valueLimit
		)
		fs.BoolVar(&bf.hex, "hex", false, "print keys and values as hex")
		values.define(fs)
		return func(e *env, args []string) error {
			var err error
			if bf.maxValue, err = values.resolve("log", e.json); err != nil {
				return err
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
	var recordErr error
	err := r.Each(v.torn, func(rec []byte, off int64) error {
		recordErr = v.record(off, rec)
		return recordErr
	})
	if err != nil && recordErr == nil && isCorruption(err) {
		v.corrupt(err) // not expected in recovery mode, but damage all the same
		return nil
	}
	return err
}

// tornParts returns the offset (dberr.NoOffset if none) and the reason of a torn tail.
func tornParts(err error) (int64, string) {
	var te *wal.TornTailError
	if errors.As(err, &te) {
		return te.Offset, te.Reason
	}
	return dberr.NoOffset, err.Error()
}

// tornNote describes a torn tail in path as a note.
func tornNote(path string, err error) finding {
	off, reason := tornParts(err)
	return finding{file: path, offset: off, note: true,
		reason: "torn tail: " + reason + "; a write cut short by a crash, never acknowledged: not an error"}
}

// tornText describes a torn tail for a dump's output: the note without the file name.
func tornText(err error) string {
	f := tornNote("", err)
	if f.offset == dberr.NoOffset {
		return f.reason
	}
	return fmt.Sprintf("offset %d: %s", f.offset, f.reason)
}

// printTorn prints a torn tail on a line of its own, as JSON with --format=json (w is the
// command's writer) or as text.
func (e *env) printTorn(w *jsonWriter, err error) {
	if e.json {
		appendTornJSON(w, "", err)
		e.out.write(w.line())
		return
	}
	e.out.str(tornText(err) + "\n")
}

// appendTornJSON writes a torn tail as a member called name of the open object, or (name "")
// as a line: {"type":"torn_tail","offset":N,"reason":..}.
func appendTornJSON(w *jsonWriter, name string, err error) {
	off, reason := tornParts(err)
	w.object(name)
	if name == "" {
		w.str("type", "torn_tail")
	}
	if off != dberr.NoOffset {
		w.int("offset", off)
	}
	w.str("reason", reason)
	w.endObject()
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

// appendJSON writes st's members into an open JSON object.
func (st *logStats) appendJSON(w *jsonWriter) {
	w.int("records", int64(st.records))
	w.int("operations", int64(st.ops))
	w.int("puts", int64(st.puts))
	w.int("dels", int64(st.dels))
	if st.ops > 0 {
		w.uint("first_seq", uint64(st.firstSeq))
		w.uint("last_seq", uint64(st.lastSeq))
	}
}

func (st *logStats) summary() string {
	s := fmt.Sprintf("%d records, %d operations (%d put, %d del)", st.records, st.ops, st.puts, st.dels)
	if st.ops > 0 {
		s += fmt.Sprintf(", sequence numbers %d to %d", st.firstSeq, st.lastSeq)
	}
	return s
}

func dumpLog(e *env, path string, bf bytesFormat) error {
	return dumpFile(e, path, func(f vfs.File) error { return printLog(e, f, path, bf) })
}

// printLog prints the records of the log f, then its summary.
func printLog(e *env, f vfs.File, path string, bf bytesFormat) error {
	json := e.json
	var (
		st   logStats
		line []byte
		w    jsonWriter
	)
	report := func(err error) { e.stderrFindings()(findingOf(path, err)) }
	op := func(seq keys.SeqNum, kind keys.Kind, key, value []byte) error {
		if json {
			appendOpJSON(&w, seq, kind, key, value, bf)
			return nil
		}
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
	}
	err := walkLog(f, path, logVisitor{
		record: func(off int64, rec []byte) error {
			br, berr := batch.NewReader(rec, path, off)
			switch {
			case json:
				w.object("")
				w.str("type", "record")
				w.int("offset", off)
				if berr == nil {
					w.uint("seq", uint64(br.Seq()))
					w.int("count", int64(br.Count()))
				}
				w.int("size", int64(len(rec)))
				w.array("ops")
			case berr == nil:
				fmt.Fprintf(e.out.w, "offset %d: seq %d, count %d, %d bytes\n", off, br.Seq(), br.Count(), len(rec))
			default:
				fmt.Fprintf(e.out.w, "offset %d: %d bytes, not a WriteBatch\n", off, len(rec))
			}
			if err := readBatch(path, off, rec, &st, report, op); err != nil {
				return err
			}
			if json {
				w.endArray()
				w.endObject()
				e.out.write(w.line())
			}
			return e.out.err()
		},
		corrupt: report,
		torn:    func(err error) { e.printTorn(&w, err) },
	})
	if err != nil {
		return err
	}
	if json {
		w.object("")
		w.str("type", "summary")
		st.appendJSON(&w)
		w.endObject()
		e.out.write(w.line())
		return nil
	}
	e.out.str("summary: " + st.summary() + "\n")
	return nil
}

// appendOpJSON writes one operation of a batch as an element of the open array:
// {"op":"put","seq":N,"key":..,"value":..} (with "value_len" when the value is cut) or
// {"op":"del","seq":N,"key":..}.
func appendOpJSON(w *jsonWriter, seq keys.SeqNum, kind keys.Kind, key, value []byte, bf bytesFormat) {
	w.object("")
	if kind == keys.KindDelete {
		w.str("op", "del")
	} else {
		w.str("op", "put")
	}
	w.uint("seq", uint64(seq))
	w.bytes("key", key, bf.hex)
	if kind != keys.KindDelete {
		v := value
		if bf.maxValue > 0 && len(v) > bf.maxValue {
			v = v[:bf.maxValue]
			w.int("value_len", int64(len(value)))
		}
		w.bytes("value", v, bf.hex)
	}
	w.endObject()
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
			r.emit(tornNote(path, err))
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
