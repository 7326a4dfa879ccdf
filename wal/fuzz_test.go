package wal

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stratadb/strata/internal/dberr"
)

// FuzzReader feeds arbitrary bytes to the Reader in strict and in recovery mode. Whatever the
// input, reading must end (with io.EOF, a torn tail or, in strict mode, corruption), never
// panic, never return a record longer than the input, and never call a damaged region a record:
// strict mode's records must be a prefix of recovery mode's.
func FuzzReader(f *testing.F) {
	for _, name := range []string{"MANIFEST-000002", "000003.log"} {
		b, err := os.ReadFile(filepath.Join(fixtureDir, name))
		if err != nil {
			f.Fatal(err)
		}
		// Seeds stay small so the fuzzer mutates quickly: the first block and a bit of the next.
		b = b[:min(len(b), blockSize+200)]
		f.Add(b)
		flipped := bytes.Clone(b)
		flipped[len(flipped)/2] ^= 0x10
		f.Add(flipped)
		f.Add(b[:len(b)-3])
	}
	var l logBuilder
	l.frag(fullType, []byte("a")).frag(firstType, []byte("bc")).frag(middleType, []byte("d")).
		frag(lastType, nil).frag(middleType, []byte("e")).frag(7, nil).zeros(headerSize).frag(fullType, nil)
	f.Add(l.b)
	f.Add(writeLog(f, nil, payload(blockSize, 1), payload(3, 2)))

	f.Fuzz(func(t *testing.T, data []byte) {
		strict := fuzzRead(t, data, nil)
		var reports int
		recovered := fuzzRead(t, data, func(off int64, dropped int, err error) {
			reports++
			if !errors.Is(err, dberr.ErrCorruption) {
				t.Fatalf("report of a non-corruption error: %v", err)
			}
			if off < 0 || off > int64(len(data)) || dropped <= 0 || off+int64(dropped) > int64(len(data)) {
				t.Fatalf("report of %d bytes at %d outside the %d-byte input", dropped, off, len(data))
			}
		})
		if len(strict) > len(recovered) {
			t.Fatalf("strict mode read %d records, recovery only %d", len(strict), len(recovered))
		}
		for i := range strict {
			if !bytes.Equal(strict[i], recovered[i]) {
				t.Fatalf("record %d differs between strict and recovery mode", i)
			}
		}
	})
}

// fuzzRead reads data to the end and checks the invariants that hold in either mode.
func fuzzRead(t *testing.T, data []byte, report func(int64, int, error)) [][]byte {
	r := NewReader(bytes.NewReader(data), "fuzz.log")
	if report != nil {
		r.SkipCorruption(report)
	}
	var recs [][]byte
	total := 0
	// Every record but an empty FULL one takes more than a header; empty ones take exactly one.
	for maxRecords := len(data)/headerSize + 1; ; {
		rec, err := r.Next()
		if err != nil {
			switch {
			case errors.Is(err, io.EOF), errors.Is(err, ErrTornTail):
			case errors.Is(err, dberr.ErrCorruption):
				if report != nil {
					t.Fatalf("recovery mode returned corruption: %v", err)
				}
			default:
				t.Fatalf("unexpected error: %v", err)
			}
			if _, again := r.Next(); again != err {
				t.Fatalf("error not sticky: %v then %v", err, again)
			}
			return recs
		}
		if len(rec) > len(data) {
			t.Fatalf("record of %d bytes from a %d-byte input", len(rec), len(data))
		}
		if off := r.Offset(); off < 0 || off+headerSize > int64(len(data)) {
			t.Fatalf("record offset %d outside the input", off)
		}
		total += len(rec)
		if total > len(data) {
			t.Fatalf("%d record bytes from a %d-byte input", total, len(data))
		}
		recs = append(recs, bytes.Clone(rec))
		if len(recs) > maxRecords {
			t.Fatalf("more records than the input can hold")
		}
	}
}
