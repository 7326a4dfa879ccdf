package compaction

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stratadb/strata/internal/coding"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/wal"
	"github.com/stretchr/testify/require"
)

// fixtureManifest is a MANIFEST written by C++ leveldb 1.23 when it created a DB and opened it
// (wal/testdata/gen.sh).
var fixtureManifest = filepath.Join("..", "wal", "testdata", "leveldb-1.23", "MANIFEST-000002")

// readRecords returns the records of a log file.
func readRecords(t testing.TB, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r := wal.NewReader(f, path)
	var recs [][]byte
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return recs
		}
		require.NoError(t, err)
		recs = append(recs, bytes.Clone(rec))
	}
}

func randomInternalKey(rng *rand.Rand) []byte {
	uk := make([]byte, rng.IntN(20))
	for i := range uk {
		uk[i] = byte(rng.IntN(256))
	}
	return keys.AppendInternalKey(nil, uk, keys.SeqNum(rng.Uint64N(uint64(keys.MaxSeqNum)+1)), keys.Kind(rng.IntN(2)))
}

// randomUint64 favours small numbers but covers every varint length.
func randomUint64(rng *rand.Rand) uint64 {
	return rng.Uint64() >> rng.IntN(64)
}

func randomVersionEdit(rng *rand.Rand) *VersionEdit {
	var e VersionEdit
	if rng.IntN(2) == 0 {
		name := make([]byte, rng.IntN(40))
		for i := range name {
			name[i] = byte(rng.IntN(256))
		}
		e.SetComparator(string(name))
	}
	if rng.IntN(2) == 0 {
		e.SetLogNum(randomUint64(rng))
	}
	if rng.IntN(2) == 0 {
		e.SetPrevLogNum(randomUint64(rng))
	}
	if rng.IntN(2) == 0 {
		e.SetNextFileNum(randomUint64(rng))
	}
	if rng.IntN(2) == 0 {
		e.SetLastSeq(keys.SeqNum(randomUint64(rng) >> 8))
	}
	for range rng.IntN(4) {
		e.AddCompactPointer(rng.IntN(NumLevels), randomInternalKey(rng))
	}
	for range rng.IntN(6) {
		e.DeleteFile(rng.IntN(NumLevels), randomUint64(rng))
	}
	for range rng.IntN(6) {
		e.AddFile(rng.IntN(NumLevels), &FileMetadata{
			Num: randomUint64(rng), Size: randomUint64(rng),
			Smallest: randomInternalKey(rng), Largest: randomInternalKey(rng),
		})
	}
	return &e
}

func TestVersionEditRoundTrip(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := 0; i < 2000; i++ {
		e := randomVersionEdit(rng)
		enc := e.Encode(nil)
		var got VersionEdit
		require.NoError(t, got.Decode(enc, "MANIFEST-000009", 77), "seed %d edit %d", seed, i)
		require.Equal(t, e, &got, "seed %d edit %d", seed, i)
		require.Equal(t, enc, got.Encode(nil), "seed %d edit %d", seed, i)
	}
}

func TestVersionEditEmpty(t *testing.T) {
	var e VersionEdit
	require.Empty(t, e.Encode(nil))
	require.NoError(t, e.Decode(nil, "m", 0))
	require.Equal(t, VersionEdit{}, e)
	require.Equal(t, "", e.String())
}

// The fields come out in leveldb's order whatever order they were set in, deleted files sorted
// by (level, number) and deduplicated; the expected bytes are written out by hand from the
// grammar in docs/format/manifest.md.
func TestVersionEditEncodingOrder(t *testing.T) {
	var e VersionEdit
	e.AddFile(2, meta(t, 300, 5000, "a#1,SET", "b#2,DEL"))
	e.DeleteFile(3, 7)
	e.DeleteFile(1, 200)
	e.DeleteFile(1, 9)
	e.DeleteFile(1, 9)
	e.AddCompactPointer(4, ikey(t, "k#3,SET"))
	e.SetLastSeq(129)
	e.SetNextFileNum(301)
	e.SetPrevLogNum(0)
	e.SetLogNum(12)
	e.SetComparator("cmp")

	want := "" +
		"01" + "03636d70" + // comparator "cmp"
		"02" + "0c" + // log number 12
		"09" + "00" + // prev log number 0
		"03" + "ad02" + // next file 301
		"04" + "8101" + // last sequence 129
		"05" + "04" + "09" + "6b" + "0103000000000000" + // compact pointer L4 k#3,SET
		"06" + "01" + "09" + // deleted L1 9
		"06" + "01" + "c801" + // deleted L1 200
		"06" + "03" + "07" + // deleted L3 7
		"07" + "02" + "ac02" + "8827" + // new file L2 300, 5000 bytes
		"09" + "61" + "0101000000000000" + // smallest a#1,SET
		"09" + "62" + "0002000000000000" // largest b#2,DEL
	require.Equal(t, want, hex.EncodeToString(e.Encode(nil)))
	require.Equal(t, "comparator: cmp\nlog: 12\nprev-log: 0\nnext-file: 301\nlast-seq: 129\n"+
		"compact-pointer: L4 k#3,SET\ndeleted: L1 000009\ndeleted: L1 000200\ndeleted: L3 000007\n"+
		"added: L2 000300:[a#1,SET-b#2,DEL] 5000\n", e.String())
}

// The MANIFEST that C++ leveldb writes for a new DB decodes to the expected edits, and our
// encoding of them is the same bytes.
func TestVersionEditLevelDBFixture(t *testing.T) {
	recs := readRecords(t, fixtureManifest)
	require.Len(t, recs, 2)

	var snapshot, edit VersionEdit
	require.NoError(t, snapshot.Decode(recs[0], fixtureManifest, 0))
	var want VersionEdit
	want.SetComparator(keys.BytewiseName)
	require.Equal(t, want, snapshot)

	require.NoError(t, edit.Decode(recs[1], fixtureManifest, 35))
	want = VersionEdit{}
	want.SetLogNum(3)
	want.SetPrevLogNum(0)
	want.SetNextFileNum(4)
	want.SetLastSeq(0)
	require.Equal(t, want, edit)

	require.Equal(t, recs[0], snapshot.Encode(nil))
	require.Equal(t, recs[1], edit.Encode(nil))
}

// Each way an edit can be damaged is refused with a corruption error naming the MANIFEST and
// the record's offset.
func TestVersionEditDecodeCorrupt(t *testing.T) {
	k := ikey(t, "a#1,SET")
	lp := func(b []byte) []byte { return coding.AppendLengthPrefixed(nil, b) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	v := func(x uint64) []byte { return coding.AppendVarint64(nil, x) }
	good := cat(v(tagNewFile), v(1), v(12), v(100), lp(k), lp(k))

	cases := []struct {
		name   string
		rec    []byte
		reason string
	}{
		{"UnknownTag", cat(v(tagLogNumber), v(1), v(10)), "tag 10 is unknown"},
		{"RetiredTag8", v(8), "tag 8 is unknown"},
		{"TagZero", v(0), "tag 0 is unknown"},
		{"TruncatedTag", []byte{0x80}, "tag is truncated"},
		{"OverlongTag", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, "tag is an overlong varint"},
		{"TruncatedComparator", cat(v(tagComparator), v(5), []byte("abc")), "comparator name is truncated"},
		{"MissingComparator", v(tagComparator), "comparator name is truncated"},
		{"TruncatedLogNumber", cat(v(tagLogNumber), []byte{0xff}), "log number is truncated"},
		{"OverlongLogNumber", cat(v(tagLogNumber), bytes.Repeat([]byte{0xff}, 10), []byte{1}), "log number is an overlong varint"},
		{"TruncatedPrevLogNumber", v(tagPrevLogNumber), "previous log number is truncated"},
		{"TruncatedNextFile", v(tagNextFileNumber), "next file number is truncated"},
		{"TruncatedLastSequence", v(tagLastSequence), "last sequence number is truncated"},
		{"LastSequenceTooLarge", cat(v(tagLastSequence), v(uint64(keys.MaxSeqNum)+1)), "exceeds 56 bits"},
		{"CompactPointerLevel7", cat(v(tagCompactPointer), v(7), lp(k)), "compact pointer has level 7"},
		{"CompactPointerHugeLevel", cat(v(tagCompactPointer), v(1<<31), lp(k)), "compact pointer has level"},
		{"CompactPointerShortKey", cat(v(tagCompactPointer), v(1), lp([]byte("abc"))), "compact pointer key is a 3-byte key"},
		{"CompactPointerTruncatedKey", cat(v(tagCompactPointer), v(1), v(9), []byte("ab")), "compact pointer key is truncated"},
		{"DeletedFileLevel7", cat(v(tagDeletedFile), v(7), v(3)), "deleted file has level 7"},
		{"DeletedFileTruncatedLevel", v(tagDeletedFile), "deleted file level is truncated"},
		{"DeletedFileTruncatedNumber", cat(v(tagDeletedFile), v(1)), "deleted file number is truncated"},
		{"NewFileLevel7", cat(v(tagNewFile), v(7), v(12), v(100), lp(k), lp(k)), "new file has level 7"},
		{"NewFileTruncatedNumber", cat(v(tagNewFile), v(1)), "new file number is truncated"},
		{"NewFileTruncatedSize", cat(v(tagNewFile), v(1), v(12)), "new file size is truncated"},
		{"NewFileMissingSmallest", cat(v(tagNewFile), v(1), v(12), v(100)), "new file smallest key is truncated"},
		{"NewFileMissingLargest", cat(v(tagNewFile), v(1), v(12), v(100), lp(k)), "new file largest key is truncated"},
		{"NewFileLargestPastEnd", good[:len(good)-1], "new file largest key is truncated"},
		{"NewFileEmptySmallest", cat(v(tagNewFile), v(1), v(12), v(100), lp(nil), lp(k)), "new file smallest key is a 0-byte key"},
		{"NewFileKeyLengthHuge", cat(v(tagNewFile), v(1), v(12), v(100), v(1<<32-1), k), "new file smallest key is truncated"},
		{"GarbageAfterGoodField", cat(good, []byte{0xff}), "tag is truncated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var e VersionEdit
			err := e.Decode(c.rec, "/db/MANIFEST-000005", 4242)
			require.Error(t, err)
			require.True(t, errors.Is(err, dberr.ErrCorruption), "%v", err)
			var ce *dberr.CorruptionError
			require.True(t, errors.As(err, &ce))
			require.Equal(t, "/db/MANIFEST-000005", ce.File)
			require.Equal(t, int64(4242), ce.Offset)
			require.Contains(t, err.Error(), c.reason)
			require.Equal(t, VersionEdit{}, e, "a failed Decode leaves an empty edit")
		})
	}
	var e VersionEdit
	require.NoError(t, e.Decode(good, "m", 0), "the base of the truncation cases is valid")
}

// Decoding copies the keys: the log reader reuses its buffer for the next record.
func TestVersionEditDecodeCopies(t *testing.T) {
	var e VersionEdit
	e.AddFile(1, meta(t, 5, 10, "a#1,SET", "b#1,SET"))
	e.AddCompactPointer(1, ikey(t, "c#1,SET"))
	enc := e.Encode(nil)
	var got VersionEdit
	require.NoError(t, got.Decode(enc, "m", 0))
	for i := range enc {
		enc[i] = 0xee
	}
	require.Equal(t, "L1:[a#1,SET-b#1,SET] c#1,SET", "L1:["+keys.FormatInternalKey(got.NewFiles[0].Meta.Smallest)+"-"+
		keys.FormatInternalKey(got.NewFiles[0].Meta.Largest)+"] "+keys.FormatInternalKey(got.CompactPointers[0].Key))
}
