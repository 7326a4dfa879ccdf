//go:build cleveldb

package cleveldb

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/testutil/tablespec"
)

// The fixtures live with the sstable package that reads them; sstable/testdata/gen writes them.
var (
	goodDir   = filepath.Join("..", "..", "sstable", "testdata", "leveldb")
	brokenDir = filepath.Join("..", "..", "sstable", "testdata", "broken")
)

func TestFixtureFilesMatchSpecs(t *testing.T) {
	var want, got []string
	for _, s := range tablespec.Specs() {
		want = append(want, s.FileName())
	}
	for _, b := range tablespec.BrokenFixtures() {
		want = append(want, filepath.Join("broken", b.FileName()))
	}
	for _, d := range []string{goodDir, brokenDir} {
		files, err := filepath.Glob(filepath.Join(d, "*.ldb"))
		require.NoError(t, err)
		for _, f := range files {
			if d == brokenDir {
				got = append(got, filepath.Join("broken", filepath.Base(f)))
			} else {
				got = append(got, filepath.Base(f))
			}
		}
	}
	sort.Strings(want)
	sort.Strings(got)
	require.Equal(t, want, got, "fixtures out of date: go run -tags cleveldb ./sstable/testdata/gen")
}

// TestFixturesReadBack proves that the checked-in fixtures and tablespec agree: C++ leveldb
// reads every entry back exactly, finds every key through its point-lookup path, and its
// filter rules out absent keys.
func TestFixturesReadBack(t *testing.T) {
	for _, s := range tablespec.Specs() {
		t.Run(s.Name, func(t *testing.T) {
			path := filepath.Join(goodDir, s.FileName())
			o := TableOptionsFor(s)
			o.ParanoidChecks, o.VerifyChecksums = true, true
			want := s.Entries()

			i := 0
			require.NoError(t, ReadTable(path, o, func(k, v []byte) error {
				require.Less(t, i, len(want), "extra entry %q", k)
				require.Equal(t, want[i].Key, k, "entry %d", i)
				require.True(t, bytes.Equal(want[i].Value, v), "entry %d: value differs", i)
				i++
				return nil
			}))
			require.Equal(t, len(want), i)

			tab, err := OpenTable(path, o)
			require.NoError(t, err)
			defer tab.Close()

			// Every user key is found by Table::InternalGet. For internal keys, the lookup key
			// lands on the newest version, which comes first in Entries.
			var prevUser []byte
			lookups := 0
			for i, e := range want {
				user := e.Key
				if s.InternalKeys {
					user = keys.UserKey(e.Key)
					if i > 0 && bytes.Equal(user, prevUser) {
						continue
					}
					prevUser = user
				}
				k, v, ok, err := tab.Lookup(s.LookupKey(user))
				require.NoError(t, err)
				require.True(t, ok, "entry %d not found", i)
				require.Equal(t, e.Key, k)
				require.True(t, bytes.Equal(e.Value, v))
				lookups++
			}
			calls, negatives := tab.FilterStats()
			if s.BloomBitsPerKey == 0 {
				require.Zero(t, calls)
			} else {
				require.Equal(t, int64(lookups), calls)
				require.Zero(t, negatives, "the filter ruled out a present key")
			}

			// Absent keys: not found, and (with a filter) mostly ruled out by it. Keys past
			// the last block reach no filter, so count only calls.
			const absent = 2000
			for _, k := range s.AbsentKeys(absent) {
				got, _, ok, err := tab.Lookup(s.LookupKey(k))
				require.NoError(t, err)
				if ok && s.InternalKeys {
					got = keys.UserKey(got)
				}
				require.False(t, ok && bytes.Equal(got, k), "absent key %q found", k)
			}
			c2, n2 := tab.FilterStats()
			if s.BloomBitsPerKey > 0 && len(want) > 0 {
				c2, n2 = c2-calls, n2-negatives
				require.Greater(t, c2, int64(absent/2))
				require.GreaterOrEqual(t, float64(n2), 0.95*float64(c2),
					"the filter ruled out %d of %d absent keys", n2, c2)
			}
		})
	}
}

// TestFixturesUpToDate writes every good fixture again with C++ and compares the bytes, so a
// change of tablespec without regenerating the files fails here.
func TestFixturesUpToDate(t *testing.T) {
	dir := t.TempDir()
	for _, s := range tablespec.Specs() {
		path := filepath.Join(dir, s.FileName())
		_, err := WriteTable(path, TableOptionsFor(s), s.All())
		require.NoError(t, err)
		fresh, err := os.ReadFile(path)
		require.NoError(t, err)
		stored, err := os.ReadFile(filepath.Join(goodDir, s.FileName()))
		require.NoError(t, err)
		require.True(t, bytes.Equal(fresh, stored),
			"%s differs from a fresh C++ write: go run -tags cleveldb ./sstable/testdata/gen", s.Name)
	}
}

// TestBrokenFixtures records what C++ leveldb 1.23 makes of each broken fixture, with checksum
// verification on (ParanoidChecks for the index and metaindex, VerifyChecksums for data
// blocks). leveldb's table iterator skips a data block it cannot read and reports the error at
// the end, so "entries" counts what it still returned.
func TestBrokenFixtures(t *testing.T) {
	base := tablespec.BrokenBase()
	for _, tc := range []struct {
		name    string
		openErr string // Table::Open fails with this
		iterErr string // or iteration ends with this
		code    Code
		entries int
	}{
		{name: "bad-magic", openErr: "not an sstable (bad magic number)", code: Corruption},
		{name: "truncated-footer", openErr: "not an sstable (bad magic number)", code: Corruption},
		{name: "too-short", openErr: "file is too short to be an sstable", code: Corruption},
		{name: "flipped-data-byte", iterErr: "block checksum mismatch", code: Corruption, entries: 248},
		// leveldb reads through mmap and answers a range past the end with EINVAL.
		{name: "lying-handle-offset", iterErr: "Invalid argument", code: IOError, entries: 261},
		{name: "lying-handle-size", iterErr: "Invalid argument", code: IOError, entries: 261},
		{name: "bad-compression-type", iterErr: "bad block type", code: Corruption, entries: 248},
		{name: "bad-restart-count", iterErr: "bad block contents", code: Corruption, entries: 248},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := TableOptionsFor(base)
			o.ParanoidChecks, o.VerifyChecksums = true, true
			path := filepath.Join(brokenDir, tc.name+".ldb")
			n := 0
			err := ReadTable(path, o, func(k, v []byte) error { n++; return nil })
			var e *Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, tc.code, e.Code, "%v", err)
			if tc.openErr != "" {
				require.Contains(t, err.Error(), tc.openErr)
				_, err := OpenTable(path, o)
				require.Error(t, err)
			} else {
				require.Contains(t, err.Error(), tc.iterErr)
			}
			require.Equal(t, tc.entries, n)
		})
	}

	t.Run("flipped-data-byte/unverified", func(t *testing.T) {
		// Without checksum verification C++ returns every entry, one value silently wrong:
		// the reason readers must verify data blocks or refuse to trust them.
		want := base.Entries()
		i, wrong := 0, 0
		require.NoError(t, ReadTable(filepath.Join(brokenDir, "flipped-data-byte.ldb"),
			TableOptionsFor(base), func(k, v []byte) error {
				require.Equal(t, want[i].Key, k)
				if !bytes.Equal(want[i].Value, v) {
					wrong++
					require.Equal(t, 0, i)
					require.Equal(t, want[i].Value[0]^1, v[0])
				}
				i++
				return nil
			}))
		require.Equal(t, len(want), i)
		require.Equal(t, 1, wrong)
	})

	t.Run("out-of-order-keys", func(t *testing.T) {
		// C++ does not check the order when reading: it returns the entries as stored, with
		// the swapped pair out of order.
		want := base.Entries()
		a, b := tablespec.OutOfOrderSwap[0], tablespec.OutOfOrderSwap[1]
		want[a], want[b] = want[b], want[a]
		var got []tablespec.Entry
		require.NoError(t, ReadTable(filepath.Join(brokenDir, "out-of-order-keys.ldb"),
			TableOptionsFor(base), func(k, v []byte) error {
				got = append(got, tablespec.Entry{Key: bytes.Clone(k), Value: bytes.Clone(v)})
				return nil
			}))
		require.Equal(t, want, got)
		require.Positive(t, bytes.Compare(got[a].Key, got[b].Key))
	})
}
