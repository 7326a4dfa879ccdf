package db

import (
	"bytes"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/testutil/filetest"
	"github.com/stratadb/strata/internal/testutil/iterutil"
	"github.com/stratadb/strata/vfs"
)

// boundsDB holds b=1, d=2, f=1, h=1 spread over every kind of source: b and an older d in a
// compacted table, f in a table written by recovery, h, the newer d and the deletion of e in the
// memtable.
func boundsDB(t *testing.T) *DB {
	t.Helper()
	fs := vfs.NewMem()
	d := openMem(t, fs, nil)
	for _, k := range []string{"b", "d", "e"} {
		require.NoError(t, d.Put([]byte(k), []byte("1"), nil))
	}
	require.NoError(t, d.CompactRange(nil, nil))
	require.NoError(t, d.Put([]byte("f"), []byte("1"), nil))
	require.NoError(t, d.Close())
	d = openMem(t, fs, nil)
	require.NoError(t, d.Put([]byte("h"), []byte("1"), nil))
	require.NoError(t, d.Put([]byte("d"), []byte("2"), nil))
	require.NoError(t, d.Delete([]byte("e"), nil))
	return d
}

func TestIteratorBounds(t *testing.T) {
	d := boundsDB(t)
	defer d.Close()
	all := kv{"b": "1", "d": "2", "f": "1", "h": "1"}
	probes := []string{"", "a", "b", "c", "d", "e", "f", "g", "h", "i", "z"}
	seed := testSeed(t)
	bound := func(s string) []byte {
		if s == "-" {
			return nil
		}
		return []byte(s)
	}
	for _, tc := range []struct{ lower, upper, want string }{
		{"-", "-", "bdfh"}, {"a", "-", "bdfh"}, {"b", "-", "bdfh"}, {"c", "-", "dfh"},
		{"-", "h", "bdf"}, {"-", "g", "bdf"}, {"-", "i", "bdfh"}, {"c", "g", "df"},
		{"d", "e", "d"}, {"e", "f", ""}, {"z", "-", ""}, {"-", "a", ""}, {"-", "b", ""},
		{"f", "d", ""}, {"d", "d", ""}, {"", "-", "bdfh"}, {"-", "", ""},
	} {
		t.Run(fmt.Sprintf("lower=%s,upper=%s", tc.lower, tc.upper), func(t *testing.T) {
			lower, upper := bound(tc.lower), bound(tc.upper)
			ro := &ReadOptions{LowerBound: lower, UpperBound: upper}
			want := []byte(tc.want)
			it := d.NewIterator(ro)
			defer it.Close()

			var fwd, rev []byte
			for ok := it.First(); ok; ok = it.Next() {
				fwd = append(fwd, it.Key()...)
			}
			for ok := it.Last(); ok; ok = it.Prev() {
				rev = append(rev, it.Key()...)
			}
			require.Equal(t, string(want), string(fwd), "First/Next")
			slices.Reverse(rev)
			require.Equal(t, string(want), string(rev), "Last/Prev")
			var viaAll []byte
			for k, v := range it.All() {
				viaAll = append(viaAll, k...)
				require.Equal(t, all[string(k)], string(v))
			}
			require.Equal(t, string(want), string(viaAll), "All")

			for _, p := range probes {
				// Seek: the first wanted key >= p; SeekLT: the last one < p.
				ge, lt := "", ""
				for _, c := range want {
					if string(c) >= p && ge == "" {
						ge = string(c)
					}
					if string(c) < p {
						lt = string(c)
					}
				}
				if it.Seek([]byte(p)) {
					require.Equal(t, ge, string(it.Key()), "Seek(%q)", p)
					require.Equal(t, all[ge], string(it.Value()))
				} else {
					require.Empty(t, ge, "Seek(%q) found nothing", p)
				}
				if it.SeekLT([]byte(p)) {
					require.Equal(t, lt, string(it.Key()), "SeekLT(%q)", p)
				} else {
					require.Empty(t, lt, "SeekLT(%q) found nothing", p)
				}
				require.NoError(t, it.Error())
			}
			model := &iterutil.Model{Cmp: bytes.Compare, Entries: all.Entries(lower, upper)}
			iterutil.CheckAgainstModel(t, dbIter{it}, model, newRand(seed), 300)
		})
	}
}

// TestIteratorPinsItsState creates an iterator, then overwrites, deletes and adds keys through
// several flushes and a full compaction: the iterator still sees exactly its state, and the
// tables it reads stay on disk until it is closed; afterwards they are deleted.
func TestIteratorPinsItsState(t *testing.T) {
	fs := vfs.NewMem()
	d := openMem(t, fs, &Options{WriteBufferSize: 64 << 10})
	defer d.Close()
	m := kv{}
	put := func(k, v string) {
		require.NoError(t, d.Put([]byte(k), []byte(v), nil))
		m[k] = v
	}
	for i := range 2000 {
		put(fmt.Sprintf("k%04d", i), fmt.Sprintf("v0-%d-%0200d", i, 0))
	}
	require.NoError(t, d.CompactRange(nil, nil))
	for i := 0; i < 2000; i += 10 {
		put(fmt.Sprintf("k%04d", i), fmt.Sprintf("v1-%d", i)) // in the memtable
	}
	it := d.NewIterator(nil)
	defer it.Close()
	pinned := slices.Collect(maps.Keys(versionFiles(it.rs)))
	require.NotEmpty(t, pinned)
	old := maps.Clone(m)

	for i := range 2000 {
		k := fmt.Sprintf("k%04d", i)
		if i%3 == 0 {
			require.NoError(t, d.Delete([]byte(k), nil))
			delete(m, k)
		} else {
			put(k, fmt.Sprintf("v2-%d-%0200d", i, 0))
		}
		put(fmt.Sprintf("n%04d", i), "new")
	}
	require.NoError(t, d.CompactRange(nil, nil))

	onDisk := tableFiles(t, fs)
	for _, n := range pinned {
		require.Contains(t, onDisk, n, "table %d, read by a live iterator, was deleted", n)
	}
	requireSame(t, old, iterContents(t, it), "the pinned iterator")
	model := &iterutil.Model{Cmp: bytes.Compare, Entries: old.Entries(nil, nil)}
	iterutil.CheckAgainstModel(t, dbIter{it}, model, newRand(testSeed(t)), 2000)
	requireSame(t, m, dump(t, d, nil), "the latest state")
	require.NoError(t, it.Close())

	// The next flush deletes what no Version uses any more.
	put("zzz", "last")
	require.NoError(t, d.CompactRange([]byte("zzz"), nil))
	current := currentFiles(d)
	for n := range tableFiles(t, fs) {
		require.Contains(t, current, n, "table %d is in no Version but still on disk", n)
	}
	released := 0
	for _, n := range pinned {
		if _, ok := current[n]; !ok {
			released++
		}
	}
	require.Positive(t, released, "the compaction replaced some of the pinned tables")
}

// versionFiles returns the numbers of the tables of rs's Version.
func versionFiles(rs *readState) map[uint64]bool {
	out := map[uint64]bool{}
	for _, files := range rs.version.Levels {
		for _, f := range files {
			out[f.Num] = true
		}
	}
	return out
}

func currentFiles(d *DB) map[uint64]bool {
	rs := d.loadReadState()
	defer rs.unref()
	return versionFiles(rs)
}

// iterContents walks it forward from First.
func iterContents(t *testing.T, it *Iterator) kv {
	t.Helper()
	got := kv{}
	for ok := it.First(); ok; ok = it.Next() {
		got[string(it.Key())] = string(it.Value())
	}
	require.NoError(t, it.Error())
	return got
}

func TestIteratorErrors(t *testing.T) {
	t.Run("CorruptTable", func(t *testing.T) {
		fs := vfs.NewMem()
		d := openMem(t, fs, &Options{Compression: NoCompression})
		for i := range 500 {
			require.NoError(t, d.Put(fmt.Appendf(nil, "k%04d", i), bytes.Repeat([]byte{'v'}, 100), nil))
		}
		require.NoError(t, d.CompactRange(nil, nil))
		require.NoError(t, d.Close())
		tables := tableFiles(t, fs)
		require.Len(t, tables, 1)
		for n := range tables {
			path := filenames.Path("/db", filenames.Table, n)
			data := filetest.Read(t, fs, path)
			data[20] ^= 0xff // inside the first data block
			filetest.Write(t, fs, path, data)
		}
		d = openMem(t, fs, nil)
		defer d.Close()
		it := d.NewIterator(&ReadOptions{VerifyChecksums: true})
		require.False(t, it.First())
		require.ErrorIs(t, it.Error(), ErrCorruption)
		n := 0
		for range it.All() {
			n++
		}
		require.Zero(t, n)
		require.ErrorIs(t, it.Error(), ErrCorruption, "after All")
		require.ErrorIs(t, it.Close(), ErrCorruption)
		_, err := d.Get([]byte("k0000"), &ReadOptions{VerifyChecksums: true})
		require.ErrorIs(t, err, ErrCorruption, "Get")
		require.Contains(t, err.Error(), filepath.Base(filenames.Path("/db", filenames.Table, slices.Collect(maps.Keys(tables))[0])))
	})
}
