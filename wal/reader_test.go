package wal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/dberr"
)

// requireCorruptAt checks that reading log gives want and then corruption at off, in strict mode,
// and that the error stays.
func requireCorruptAt(t *testing.T, log []byte, want [][]byte, off int64) *dberr.CorruptionError {
	t.Helper()
	r := bytesReader(log)
	got, err := readAll(r)
	requireRecords(t, want, got)
	require.ErrorIs(t, err, dberr.ErrCorruption)
	require.NotErrorIs(t, err, ErrTornTail)
	var ce *dberr.CorruptionError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "test.log", ce.File)
	require.Equal(t, off, ce.Offset, "offset in %q", err)
	_, again := r.Next()
	require.Same(t, err, again, "errors are sticky")
	return ce
}

// requireTornAt checks that reading log gives want and then a torn tail starting at off.
func requireTornAt(t *testing.T, r *Reader, want [][]byte, off int64) {
	t.Helper()
	got, err := readAll(r)
	requireRecords(t, want, got)
	require.ErrorIs(t, err, ErrTornTail)
	require.NotErrorIs(t, err, dberr.ErrCorruption)
	var te *TornTailError
	require.ErrorAs(t, err, &te)
	require.Equal(t, "test.log", te.File)
	require.Equal(t, off, te.Offset, "offset in %q", err)
	require.Contains(t, err.Error(), "test.log")
}

func TestReaderCorruption(t *testing.T) {
	a, b, c := payload(10, 1), payload(20, 2), payload(30, 3)
	bOff := int64(headerSize + len(a))

	t.Run("bad checksum", func(t *testing.T) {
		log := writeLog(t, a, b, c)
		log[bOff+headerSize+5] ^= 0x40 // a payload byte of b
		ce := requireCorruptAt(t, log, [][]byte{a}, bOff)
		require.Contains(t, ce.Reason, "checksum")
	})

	t.Run("bad checksum field", func(t *testing.T) {
		log := writeLog(t, a, b, c)
		log[bOff] ^= 0x01
		requireCorruptAt(t, log, [][]byte{a}, bOff)
	})

	// A fragment that cannot stand between two FULL records: one of an unknown type, or a
	// MIDDLE or LAST with no FIRST.
	for _, tc := range []struct {
		name   string
		typ    byte
		reason string
	}{
		{fmt.Sprintf("bad record type/type=%d", zeroType), zeroType, "unknown record type"},
		{fmt.Sprintf("bad record type/type=%d", maxType+1), maxType + 1, "unknown record type"},
		{"bad record type/type=255", 0xff, "unknown record type"},
		{"unexpected MIDDLE", middleType, "MIDDLE"},
		{"unexpected LAST", lastType, "LAST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l logBuilder
			l.frag(fullType, a).frag(tc.typ, b).frag(fullType, c)
			ce := requireCorruptAt(t, l.b, [][]byte{a}, bOff)
			require.Contains(t, ce.Reason, tc.reason)
		})
	}

	t.Run("bad length", func(t *testing.T) {
		// In a full block a length that runs past the block's end cannot be a torn append:
		// the block is all there.
		var l logBuilder
		l.frag(fullType, a)
		bad := l.offset()
		l.header(0, 60000, fullType).zeros(blockSize - int(l.offset()))
		l.frag(fullType, c)
		ce := requireCorruptAt(t, l.b, [][]byte{a}, bad)
		require.Contains(t, ce.Reason, "length")

		t.Run("past the block end in the last block", func(t *testing.T) {
			// No writer makes a fragment cross a block boundary, so this is damage even though
			// the file ends inside the block.
			var l logBuilder
			l.frag(fullType, a).header(0, blockSize, fullType).raw(b)
			requireCorruptAt(t, l.b, [][]byte{a}, bOff)
		})
	})

	t.Run("FIRST without end then FULL", func(t *testing.T) {
		var l logBuilder
		l.frag(fullType, a).frag(firstType, b)
		full := l.offset()
		l.frag(fullType, c)
		ce := requireCorruptAt(t, l.b, [][]byte{a}, full)
		require.Contains(t, ce.Reason, fmt.Sprintf("started at offset %d", bOff))
	})

	t.Run("FIRST without end then FIRST", func(t *testing.T) {
		var l logBuilder
		l.frag(firstType, a)
		second := l.offset()
		l.frag(firstType, b).frag(lastType, c)
		requireCorruptAt(t, l.b, nil, second)
	})

	t.Run("empty FIRST then FULL is accepted", func(t *testing.T) {
		// Old leveldb writers left an empty FIRST at a block tail and started the record
		// again in the next block. leveldb reads past it, and so do we: nothing is lost.
		var l logBuilder
		l.frag(fullType, a).frag(firstType, nil).frag(fullType, b).frag(firstType, nil).frag(firstType, c).frag(lastType, a)
		got, err := readAll(bytesReader(l.b))
		require.ErrorIs(t, err, io.EOF)
		requireRecords(t, [][]byte{a, b, append(bytes.Clone(c), a...)}, got)
	})

	t.Run("zeroed space inside a fragmented record, then a record", func(t *testing.T) {
		var l logBuilder
		l.frag(firstType, payload(blockSize-headerSize, 4))
		l.zeros(blockSize)
		l.frag(fullType, a)
		requireCorruptAt(t, l.b, nil, blockSize)
	})

	t.Run("read error", func(t *testing.T) {
		log := writeLog(t, a, payload(blockSize, 5), b)
		disk := errors.New("test: EIO")
		r := NewReader(&errReader{data: log[:blockSize], err: disk}, "test.log")
		got, err := readAll(r)
		requireRecords(t, [][]byte{a}, got)
		require.ErrorIs(t, err, disk)
		require.NotErrorIs(t, err, dberr.ErrCorruption)
		require.NotErrorIs(t, err, ErrTornTail)
		require.NotErrorIs(t, err, io.EOF)
		require.Contains(t, err.Error(), "test.log")
	})
}

func TestReaderTornTail(t *testing.T) {
	a, b := payload(10, 1), payload(20, 2)
	bOff := int64(headerSize + len(a))
	log := writeLog(t, a, b)

	t.Run("header cut short", func(t *testing.T) {
		requireTornAt(t, bytesReader(log[:bOff+3]), [][]byte{a}, bOff)
	})

	t.Run("payload cut short", func(t *testing.T) {
		requireTornAt(t, bytesReader(log[:len(log)-1]), [][]byte{a}, bOff)
	})

	big := payload(3*blockSize, 3)
	spanning := writeLog(t, a, big, b)

	t.Run("FIRST then end of file", func(t *testing.T) {
		requireTornAt(t, bytesReader(spanning[:blockSize]), [][]byte{a}, bOff)
	})

	t.Run("FIRST and MIDDLE then end of file", func(t *testing.T) {
		requireTornAt(t, bytesReader(spanning[:2*blockSize]), [][]byte{a}, bOff)
	})

	t.Run("FIRST then a cut header", func(t *testing.T) {
		requireTornAt(t, bytesReader(spanning[:3*blockSize+2]), [][]byte{a}, bOff)
	})

	t.Run("empty FIRST in a 7-byte tail then end of file", func(t *testing.T) {
		fill := payload(blockSize-2*headerSize, 4)
		log := writeLog(t, fill, b)
		requireTornAt(t, bytesReader(log[:blockSize]), [][]byte{fill}, blockSize-headerSize)
	})

	t.Run("recovery mode still stops", func(t *testing.T) {
		r := bytesReader(spanning[:2*blockSize])
		r.SkipCorruption(func(off int64, dropped int, err error) {
			t.Errorf("unexpected report at %d: %v", off, err)
		})
		requireTornAt(t, r, [][]byte{a}, bOff)
	})

	t.Run("zeros shorter than a header are a clean end", func(t *testing.T) {
		got, err := readAll(bytesReader(append(bytes.Clone(log), 0, 0, 0)))
		require.ErrorIs(t, err, io.EOF)
		requireRecords(t, [][]byte{a, b}, got)
	})
}

// TestReaderTruncatedAtEveryOffset cuts small logs at every byte and checks that the reader
// returns exactly the records wholly before the cut, then io.EOF where the cut falls between
// records (or in a block's zero padding) and ErrTornTail naming the cut record where it falls
// inside one.
func TestReaderTruncatedAtEveryOffset(t *testing.T) {
	t.Run("spanning record and 7-byte tail", func(t *testing.T) {
		// Block 0: an empty record, small ones, and a FIRST fragment carrying data whose LAST
		// is in block 1. Block 1 ends with a 7-byte tail holding an empty FIRST; its LAST and two
		// more records are in block 2.
		ends := checkEveryCut(t, []int{0, 1, 100, 32639 + 50, 32697, 20, 5, 0})
		require.Equal(t, int64(32825), ends[3])
		require.Equal(t, int64(2*blockSize-headerSize), ends[4])
	})
	t.Run("3-byte tail", func(t *testing.T) {
		ends := checkEveryCut(t, []int{10, 32741, 30, 0})
		require.Equal(t, int64(blockSize-3), ends[1])
	})
}

// checkEveryCut writes records of the given sizes, reads every prefix of the log and returns
// where each record ends.
func checkEveryCut(t *testing.T, sizes []int) (ends []int64) {
	var m memLog
	w := NewWriter(&m)
	var recs [][]byte
	var starts []int64
	for i, n := range sizes {
		p := payload(n, byte(i+1))
		start := w.Size()
		if blockSize-start%blockSize < headerSize {
			start += blockSize - start%blockSize // the record starts after the padding
		}
		require.NoError(t, w.AddRecord(p))
		recs = append(recs, p)
		starts = append(starts, start)
		ends = append(ends, w.Size())
	}
	log := m.Bytes()

	r := bytesReader(nil)
	for cut := 0; cut <= len(log); cut++ {
		if raceEnabled && !nearStructure(cut, starts, ends) && cut%61 != 0 {
			continue // single-goroutine test: under -race, keep the cuts near the structure
		}
		whole := 0 // records wholly before the cut
		for whole < len(recs) && ends[whole] <= int64(cut) {
			whole++
		}
		// Compare in place: cloning every record of every cut would dominate the run time.
		r.Reset(bytes.NewReader(log[:cut]), "test.log")
		var err error
		for i := 0; ; i++ {
			var rec []byte
			if rec, err = r.Next(); err != nil {
				if i != whole {
					t.Fatalf("cut at %d: got %d records, want the first %d", cut, i, whole)
				}
				break
			}
			if i >= whole || !bytes.Equal(rec, recs[i]) {
				t.Fatalf("cut at %d: record %d is not the one written, or should not be there", cut, i)
			}
			if r.Offset() != starts[i] {
				t.Fatalf("cut at %d: record %d has offset %d, want %d", cut, i, r.Offset(), starts[i])
			}
		}
		between := whole == len(recs) || int64(cut) <= starts[whole]
		switch {
		case between && !errors.Is(err, io.EOF):
			t.Fatalf("cut at %d between records: got %v, want io.EOF", cut, err)
		case !between:
			var te *TornTailError
			if !errors.As(err, &te) || te.Offset != starts[whole] {
				t.Fatalf("cut at %d inside record %d at %d: got %v, want a torn tail there", cut, whole, starts[whole], err)
			}
		}
	}
	return ends
}

// nearStructure reports whether cut is within 16 bytes of a block boundary or of the start or
// end of a record.
func nearStructure(cut int, starts, ends []int64) bool {
	const d = 16
	if b := cut % blockSize; b < d || b > blockSize-d {
		return true
	}
	for i := range starts {
		if abs(int64(cut)-starts[i]) <= d || abs(int64(cut)-ends[i]) <= d {
			return true
		}
	}
	return false
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestReaderZeroedSpace(t *testing.T) {
	a, b := payload(10, 1), payload(20, 2)
	log := writeLog(t, a, b)

	t.Run("zero-filled trailing block skipped", func(t *testing.T) {
		padded := append(bytes.Clone(log), make([]byte, blockSize-len(log)+blockSize+100)...)
		got, err := readAll(bytesReader(padded))
		require.ErrorIs(t, err, io.EOF)
		requireRecords(t, [][]byte{a, b}, got)
	})

	// Zeros with a record after them are no unwritten tail but damage: whatever they held is
	// lost, and replaying the record after them would apply a write without those before it.
	// leveldb skips them silently (its old mmap writer left zeroed, preallocated space); no
	// writer of leveldb 1.23 or Strata does, so here they are corruption.
	t.Run("zeroed rest of a block then records", func(t *testing.T) {
		var l logBuilder
		l.frag(fullType, a).zeros(blockSize-len(a)-headerSize).frag(fullType, b)
		got, err := readAll(bytesReader(l.b))
		require.ErrorIs(t, err, dberr.ErrCorruption)
		require.ErrorContains(t, err, "at offset 17: 32751 zeroed bytes with records after them (at offset 32768)")
		requireRecords(t, [][]byte{a}, got)

		r := bytesReader(l.b)
		var reports []report
		r.SkipCorruption(func(off int64, dropped int, err error) { reports = append(reports, report{off, dropped, err}) })
		got, err = readAll(r)
		require.ErrorIs(t, err, io.EOF)
		requireRecords(t, [][]byte{a, b}, got)
		require.Len(t, reports, 1)
		require.Equal(t, int64(headerSize+len(a)), reports[0].off)
		require.Equal(t, blockSize-len(a)-headerSize, reports[0].dropped)
	})

	t.Run("a whole zeroed block then records", func(t *testing.T) {
		var l logBuilder
		l.zeros(blockSize).frag(fullType, a).frag(fullType, b)
		got, err := readAll(bytesReader(l.b))
		require.ErrorIs(t, err, dberr.ErrCorruption)
		require.ErrorContains(t, err, "at offset 0: 32768 zeroed bytes")
		require.Empty(t, got)
	})
}

type report struct {
	off     int64
	dropped int
	err     error
}

// recoverAll reads log in recovery mode and returns the records, the reports and the end.
func recoverAll(t *testing.T, log []byte) ([][]byte, []report, error) {
	t.Helper()
	var reps []report
	r := bytesReader(log)
	r.SkipCorruption(func(off int64, dropped int, err error) {
		require.ErrorIs(t, err, dberr.ErrCorruption)
		reps = append(reps, report{off, dropped, err})
	})
	got, err := readAll(r)
	return got, reps, err
}

func TestReaderRecovery(t *testing.T) {
	a, b, c := payload(100, 1), payload(100, 2), payload(100, 3)

	t.Run("continues after a corrupt block and reports it", func(t *testing.T) {
		var m memLog
		w := NewWriter(&m)
		fill := func() []byte { return payload(blockSize-int(w.Size()%blockSize)-headerSize, 9) }
		var want [][]byte
		add := func(p []byte, keep bool) {
			require.NoError(t, w.AddRecord(p))
			if keep {
				want = append(want, p)
			}
		}
		add(a, true)
		add(b, true)
		add(fill(), true) // block 0 ends
		add(c, true)
		bad := w.Size()
		add(a, false) // corrupted below: it and the rest of block 1 are lost
		add(b, false)
		add(fill(), false) // block 1 ends
		add(c, true)
		add(a, true)
		log := m.Bytes()
		log[bad+headerSize+10] ^= 1

		got, reps, err := recoverAll(t, log)
		require.ErrorIs(t, err, io.EOF)
		requireRecords(t, want, got)
		require.Len(t, reps, 1)
		require.Equal(t, bad, reps[0].off)
		require.Equal(t, int(2*blockSize-bad), reps[0].dropped)
		var ce *dberr.CorruptionError
		require.ErrorAs(t, reps[0].err, &ce)
		require.Equal(t, bad, ce.Offset)
	})

	t.Run("bad length drops the rest of the block", func(t *testing.T) {
		var l logBuilder
		l.frag(fullType, a)
		bad := l.offset()
		l.header(0, 60000, fullType).frag(fullType, b) // b is lost with the block
		l.zeros(blockSize - int(l.offset()))
		l.frag(fullType, c)
		got, reps, err := recoverAll(t, l.b)
		require.ErrorIs(t, err, io.EOF)
		requireRecords(t, [][]byte{a, c}, got)
		require.Equal(t, []int64{bad}, offsets(reps))
		require.Equal(t, blockSize-int(bad), reps[0].dropped)
	})

	t.Run("unexpected MIDDLE and bad type are dropped alone", func(t *testing.T) {
		var l logBuilder
		l.frag(fullType, a)
		mid := l.offset()
		l.frag(middleType, b)
		odd := l.offset()
		l.frag(7, b).frag(fullType, c)
		got, reps, err := recoverAll(t, l.b)
		require.ErrorIs(t, err, io.EOF)
		requireRecords(t, [][]byte{a, c}, got)
		require.Equal(t, []int64{mid, odd}, offsets(reps))
		require.Equal(t, headerSize+len(b), reps[0].dropped)
		require.Equal(t, headerSize+len(b), reps[1].dropped)
	})

	t.Run("fragmented record cut by a new record", func(t *testing.T) {
		var l logBuilder
		first := l.offset()
		l.frag(firstType, a).frag(middleType, b)
		full := l.offset()
		l.frag(fullType, c)
		got, reps, err := recoverAll(t, l.b)
		require.ErrorIs(t, err, io.EOF)
		requireRecords(t, [][]byte{c}, got)
		require.Equal(t, []int64{first}, offsets(reps))
		require.Equal(t, int(full-first), reps[0].dropped)
		var ce *dberr.CorruptionError
		require.ErrorAs(t, reps[0].err, &ce)
		require.Equal(t, full, ce.Offset, "the error names the physical record that broke the rule")
	})

	t.Run("bad checksum inside a fragmented record", func(t *testing.T) {
		var l logBuilder
		l.frag(fullType, a)
		first := l.offset()
		l.frag(firstType, payload(blockSize-int(first)-headerSize, 4))
		mid := l.offset()
		l.frag(middleType, payload(blockSize-headerSize, 5))
		l.b[mid+headerSize] ^= 1
		last := l.offset()
		l.frag(lastType, b).frag(fullType, c)
		got, reps, err := recoverAll(t, l.b)
		require.ErrorIs(t, err, io.EOF)
		requireRecords(t, [][]byte{a, c}, got)
		require.Equal(t, []int64{first, mid, last}, offsets(reps))
		require.Equal(t, []int{int(mid - first), blockSize, headerSize + len(b)},
			[]int{reps[0].dropped, reps[1].dropped, reps[2].dropped})
	})
}

func offsets(reps []report) []int64 {
	var out []int64
	for _, r := range reps {
		out = append(out, r.off)
	}
	return out
}
