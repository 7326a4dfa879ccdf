package wal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/coding"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/testutil/opsfile"
)

// The fixtures in testdata/leveldb-1.23 were written by C++ leveldb 1.23 (testdata/gen.sh).
const fixtureDir = "testdata/leveldb-1.23"

// encodeBatches rebuilds the WriteBatch bytes leveldb logged for each batch, from the batch
// encoding (8-byte sequence, 4-byte count, then per entry a tag, the key and for puts the
// value, each length-prefixed) and leveldb's numbering: a batch gets the last sequence number
// used plus one, and uses one number per entry, so an empty batch shares its number with the
// batch after it.
func encodeBatches(batches []opsfile.Batch) [][]byte {
	var out [][]byte
	var last uint64
	for _, b := range batches {
		p := coding.AppendFixed64(nil, last+1)
		p = coding.AppendFixed32(p, uint32(len(b.Ops)))
		for _, op := range b.Ops {
			if !op.Put {
				p = append(p, 0)
				p = coding.AppendLengthPrefixed(p, []byte(op.Key))
				continue
			}
			p = append(p, 1)
			p = coding.AppendLengthPrefixed(p, []byte(op.Key))
			p = coding.AppendLengthPrefixed(p, op.Value)
		}
		last += uint64(len(b.Ops))
		out = append(out, p)
	}
	return out
}

// groupFragments splits physical records into logical ones.
func groupFragments(t *testing.T, frags []phys) [][]phys {
	var out [][]phys
	for i := 0; i < len(frags); {
		j := i + 1
		if frags[i].typ == firstType {
			for j < len(frags) && frags[j-1].typ != lastType {
				j++
			}
		}
		out = append(out, frags[i:j])
		i = j
	}
	return out
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	require.NoError(t, err, "fixture missing: run testdata/gen.sh")
	return b
}

// rewrite frames records with our Writer and returns the bytes and the Write call count.
func rewrite(t *testing.T, records [][]byte) ([]byte, int) {
	var m memLog
	w := NewWriter(&m)
	for _, r := range records {
		require.NoError(t, w.AddRecord(r))
	}
	return m.Bytes(), m.writes
}

// TestLevelDBLog reads the write-ahead log C++ leveldb 1.23 wrote, checks every record against
// the WriteBatch rebuilt from ops.txt and the block layout against the generator's intent, then
// writes the same records with our Writer and requires identical bytes.
func TestLevelDBLog(t *testing.T) {
	log := readFixture(t, "000003.log")
	batches := opsfile.Read(t, filepath.Join(fixtureDir, "ops.txt"))
	want := encodeBatches(batches)

	got, err := readAll(bytesReader(log))
	require.ErrorIs(t, err, io.EOF)
	requireRecords(t, want, got)

	t.Run("layout", func(t *testing.T) {
		recs := groupFragments(t, walk(t, log))
		require.Len(t, recs, len(batches))
		seen := map[string]bool{}
		for i, b := range batches {
			frags := recs[i]
			first, last := frags[0], frags[len(frags)-1]
			end := last.off + headerSize + int64(last.n)
			seen[b.Label] = true
			switch {
			case b.Label == "empty":
				require.Equal(t, []phys{{first.off, fullType, 12}}, frags, "record %d", i)
			case b.Label == "small":
				require.Len(t, frags, 1)
				require.Equal(t, byte(fullType), first.typ)
			case b.Label == "fill":
				require.Len(t, frags, 1)
				require.Equal(t, byte(fullType), first.typ)
				require.Zero(t, end%blockSize, "fill record ends on a block boundary")
				require.Equal(t, end, recs[i+1][0].off, "no tail after it")
			case strings.HasPrefix(b.Label, "tail-"):
				tail, err := strconv.Atoi(strings.TrimPrefix(b.Label, "tail-"))
				require.NoError(t, err)
				require.Len(t, frags, 1)
				require.Equal(t, byte(fullType), first.typ)
				require.Equal(t, int64(blockSize-tail), end%blockSize, "%s ends %d bytes before the block end", b.Label, tail)
				next := recs[i+1][0]
				if tail < headerSize {
					require.Equal(t, end+int64(tail), next.off, "zero-filled tail, next record in the next block")
				} else {
					require.Equal(t, phys{end, firstType, 0}, next, "an empty FIRST fills the 7-byte tail")
				}
			case b.Label == "after-tail-7":
				require.Len(t, frags, 2)
				require.Equal(t, phys{first.off, firstType, 0}, first)
				require.Equal(t, byte(lastType), last.typ)
			case b.Label == "span":
				require.GreaterOrEqual(t, len(frags), 4, "FIRST, MIDDLEs, LAST")
				require.Equal(t, byte(firstType), first.typ)
				require.Positive(t, first.n)
				for _, f := range frags[1 : len(frags)-1] {
					require.Equal(t, byte(middleType), f.typ)
					require.Equal(t, blockSize-headerSize, f.n)
				}
				require.Equal(t, byte(lastType), last.typ)
			default:
				t.Fatalf("unknown label %q in ops.txt", b.Label)
			}
		}
		for _, label := range []string{"empty", "small", "fill", "tail-1", "tail-2", "tail-3", "tail-4",
			"tail-5", "tail-6", "tail-7", "after-tail-7", "span"} {
			require.True(t, seen[label], "the fixture has no %q record", label)
		}
	})

	t.Run("rewrite is byte-identical", func(t *testing.T) {
		out, writes := rewrite(t, want)
		require.Equal(t, len(want), writes)
		require.Equal(t, len(log), len(out))
		require.True(t, bytes.Equal(log, out), "first difference at byte %d", firstDiff(log, out))
	})

	t.Run("truncated inside the span record", func(t *testing.T) {
		i := indexOfLabel(t, batches, "span")
		start := recordStart(t, log, i)
		requireTornAt(t, bytesReader(log[:start+40000]), want[:i], start)
	})

	t.Run("byte flipped in tail-3", func(t *testing.T) {
		i := indexOfLabel(t, batches, "tail-3")
		off := recordStart(t, log, i)
		bad := bytes.Clone(log)
		bad[off+headerSize+100] ^= 0x20
		requireCorruptAt(t, bad, want[:i], off)

		got, reps, err := recoverAll(t, bad)
		require.ErrorIs(t, err, io.EOF)
		requireRecords(t, append(append([][]byte{}, want[:i]...), want[i+1:]...), got)
		require.Equal(t, []int64{off}, offsets(reps))
		require.Equal(t, blockSize, reps[0].dropped, "the record fills its block but for the tail")
	})
}

// recordStart returns the offset of record i of a well-formed log.
func recordStart(t *testing.T, log []byte, i int) int64 {
	return groupFragments(t, walk(t, log))[i][0].off
}

func indexOfLabel(t *testing.T, batches []opsfile.Batch, label string) int {
	for i, b := range batches {
		if b.Label == label {
			return i
		}
	}
	t.Fatalf("no %q batch in ops.txt", label)
	return -1
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestLevelDBManifest reads the MANIFEST leveldb 1.23 wrote for a new DB (same log format, one
// VersionEdit per record) and requires our Writer to reproduce it byte for byte.
func TestLevelDBManifest(t *testing.T) {
	manifest := readFixture(t, "MANIFEST-000002")
	got, err := readAll(NewReader(bytes.NewReader(manifest), "MANIFEST-000002"))
	require.ErrorIs(t, err, io.EOF)
	// leveldb writes a snapshot of the (empty) current version, then the edit that opened
	// the DB. The first names the comparator.
	require.Len(t, got, 2)
	require.Contains(t, string(got[0]), "leveldb.BytewiseComparator")

	out, writes := rewrite(t, got)
	require.Equal(t, 2, writes)
	require.Equal(t, manifest, out)

	t.Run("every cut is a clean end or a torn tail", func(t *testing.T) {
		for cut := 0; cut < len(manifest); cut++ {
			recs, err := readAll(NewReader(bytes.NewReader(manifest[:cut]), "MANIFEST-000002"))
			require.True(t, err == io.EOF || errors.Is(err, ErrTornTail), "cut %d: %v", cut, err)
			require.NotErrorIs(t, err, dberr.ErrCorruption)
			for i, r := range recs {
				require.Equal(t, got[i], r, fmt.Sprintf("cut %d record %d", cut, i))
			}
		}
	})
}
