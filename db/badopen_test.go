package db

// Open on damaged or mismatched directories: a clear error (matching ErrCorruption or
// ErrInvalidArgument, naming the file) and nothing changed on disk; or, for damage recovery may
// skip, an open DB holding every intact record and a LOG that says what was dropped.

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/vfs"
	"github.com/stratadb/strata/wal"
)

// reverseComparator orders keys backwards; its name differs from leveldb's bytewise one.
type reverseComparator struct{}

func (reverseComparator) Compare(a, b []byte) int           { return bytes.Compare(b, a) }
func (reverseComparator) Name() string                      { return "strata.test.Reverse" }
func (reverseComparator) Separator(dst, a, _ []byte) []byte { return append(dst, a...) }
func (reverseComparator) Successor(dst, a []byte) []byte    { return append(dst, a...) }

// newTestDB makes a DB on a MemFS holding a few keys in a table and a few more in its log.
func newBadOpenDB(t *testing.T) *vfs.MemFS {
	t.Helper()
	fs := vfs.NewMem()
	d := openMem(t, fs, nil)
	for _, k := range []string{"a", "b", "c"} {
		require.NoError(t, d.Put([]byte(k), []byte("table-"+k), nil))
	}
	require.NoError(t, d.CompactRange(nil, nil))
	for _, k := range []string{"d", "e"} {
		require.NoError(t, d.Put([]byte(k), []byte("log-"+k), nil))
	}
	require.NoError(t, d.Close())
	return fs
}

// requireOpenFails checks that Open fails with an error matching target and mentioning name, and
// that it changed nothing in the directory.
func requireOpenFails(t *testing.T, fs vfs.FS, opts *Options, target error, name string) {
	t.Helper()
	before := dirState(t, fs, "/db")
	_, err := openMemErr(fs, opts)
	require.ErrorIs(t, err, target)
	require.Contains(t, err.Error(), name, "the error names the file")
	require.Equal(t, before, dirState(t, fs, "/db"), "a failed Open changed the directory")
}

func TestBadOpen(t *testing.T) {
	t.Run("MissingCurrent", func(t *testing.T) {
		fs := newBadOpenDB(t)
		require.NoError(t, fs.Remove("/db/CURRENT"))
		requireOpenFails(t, fs, nil, ErrCorruption, "CURRENT")
		// With ErrorIfMissing, Open stops earlier, at "no DB there (ErrorIfMissing)" (not quite
		// true: a damaged one is), but it fails and changes nothing all the same.
		before := dirState(t, fs, "/db")
		_, err := openMemErr(fs, &Options{ErrorIfMissing: true})
		require.Error(t, err)
		require.Equal(t, before, dirState(t, fs, "/db"))
	})

	t.Run("CurrentNamesMissingManifest", func(t *testing.T) {
		fs := newBadOpenDB(t)
		m := namesOfKind(t, fs, filenames.Manifest)
		require.Len(t, m, 1)
		require.NoError(t, fs.Remove(filepath.Join("/db", m[0])))
		requireOpenFails(t, fs, nil, ErrCorruption, m[0])
	})

	t.Run("EmptyCurrent", func(t *testing.T) {
		fs := newBadOpenDB(t)
		writeTestFile(t, fs, "/db/CURRENT", nil)
		requireOpenFails(t, fs, nil, ErrCorruption, "CURRENT")
	})

	t.Run("ManifestNamesMissingTable", func(t *testing.T) {
		fs := newBadOpenDB(t)
		tables := namesOfKind(t, fs, filenames.Table)
		require.NotEmpty(t, tables)
		require.NoError(t, fs.Remove(filepath.Join("/db", tables[0])))
		requireOpenFails(t, fs, nil, ErrCorruption, tables[0])
	})

	t.Run("ComparatorMismatch", func(t *testing.T) {
		fs := newBadOpenDB(t)
		requireOpenFails(t, fs, &Options{Comparator: reverseComparator{}}, ErrInvalidArgument, "strata.test.Reverse")
		d := openMem(t, fs, nil) // still opens with the right one
		require.Len(t, dump(t, d, nil), 5)
		require.NoError(t, d.Close())
	})

	t.Run("CustomComparatorKept", func(t *testing.T) {
		fs := vfs.NewMem()
		o := &Options{Comparator: reverseComparator{}}
		d := openMem(t, fs, o)
		for _, k := range []string{"a", "b", "c"} {
			require.NoError(t, d.Put([]byte(k), []byte(k), nil))
		}
		require.NoError(t, d.Close())
		requireOpenFails(t, fs, nil, ErrInvalidArgument, "strata.test.Reverse")
		d = openMem(t, fs, o)
		it := d.NewIterator(nil)
		var keys []string
		for k := range it.All() {
			keys = append(keys, string(k))
		}
		require.NoError(t, it.Close())
		require.Equal(t, []string{"c", "b", "a"}, keys)
		require.NoError(t, d.Close())
	})

	t.Run("CreationCutShort", func(t *testing.T) {
		// A power loss after MANIFEST-000001 was made durable but before CURRENT was: nothing was
		// ever written, and Open creates the DB again.
		fs := vfs.NewMem()
		require.NoError(t, fs.MkdirAll("/db", 0o755))
		writeTestFile(t, fs, "/db/MANIFEST-000001", []byte("half-made"))
		d := openMem(t, fs, nil)
		require.NoError(t, d.Put([]byte("a"), []byte("1"), nil))
		require.NoError(t, d.Close())
		d = openMem(t, fs, nil)
		require.Equal(t, kv{"a": "1"}, dump(t, d, nil))
		require.NoError(t, d.Close())
	})

	t.Run("CorruptLogRecord", func(t *testing.T) {
		for _, paranoid := range []bool{true, false} {
			fs, logName, offsets := logWithRecords(t)
			data := readFile(t, fs, logName)
			data[offsets[1]+7+2] ^= 0x55 // inside b's batch: its checksum no longer matches
			writeTestFile(t, fs, logName, data)
			d, err := openMemErr(fs, &Options{ParanoidChecks: paranoid})
			if paranoid {
				require.ErrorIs(t, err, ErrCorruption, "ParanoidChecks")
				require.Contains(t, err.Error(), filepath.Base(logName))
				continue
			}
			require.NoError(t, err, "without ParanoidChecks recovery skips the damage")
			got := dump(t, d, nil)
			require.NoError(t, d.Close())
			require.Equal(t, "A", got["a"], "the record before the damage")
			require.NotContains(t, got, "b", "the damaged record")
			require.Equal(t, "D", got["d"], "the record in the next block")
			info := string(readFile(t, fs, "/db/LOG"))
			require.Contains(t, info, filepath.Base(logName), "the LOG names the damaged log")
			require.Contains(t, info, "dropped", "the LOG reports what was dropped")
		}
	})

	t.Run("TornTail", func(t *testing.T) {
		for _, paranoid := range []bool{true, false} {
			fs, logName, _ := logWithRecords(t)
			data := readFile(t, fs, logName)
			writeTestFile(t, fs, logName, data[:len(data)-3]) // the last record, cut short by a crash
			d, err := openMemErr(fs, &Options{ParanoidChecks: paranoid})
			require.NoError(t, err, "a torn tail is a write that was never acknowledged (paranoid=%v)", paranoid)
			got := dump(t, d, nil)
			require.NoError(t, d.Close())
			require.Equal(t, kv{"a": "A", "b": "B", "c": got["c"], "d": "D"}, got, "every complete record (paranoid=%v)", paranoid)
			require.Len(t, got["c"], 33<<10)
			require.NotContains(t, got, "e", "the torn record")
		}
	})
}

// logWithRecords makes a closed DB whose log holds five records: "a" and "b" (small), "c" (33
// KiB, so it ends in the log's second block), "d" and "e" (small, in the second block). It returns
// the log's path and the offset of each record.
func logWithRecords(t *testing.T) (*vfs.MemFS, string, []int64) {
	t.Helper()
	fs := vfs.NewMem()
	d := openMem(t, fs, nil)
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		v := []byte(strings.ToUpper(k))
		if k == "c" {
			v = bytes.Repeat([]byte("C"), 33<<10)
		}
		require.NoError(t, d.Put([]byte(k), v, nil))
	}
	require.NoError(t, d.Close())
	logs := namesOfKind(t, fs, filenames.Log)
	require.Len(t, logs, 1)
	name := filepath.Join("/db", logs[0])
	f, err := fs.Open(name)
	require.NoError(t, err)
	defer f.Close()
	r := wal.NewReader(f, name)
	var offsets []int64
	for {
		_, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		offsets = append(offsets, r.Offset())
	}
	require.Len(t, offsets, 5)
	require.Greater(t, offsets[3], int64(32<<10), "d starts in the second block")
	return fs, name, offsets
}
