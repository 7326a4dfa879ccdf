//go:build cleveldb

package sstable_test

// Tables written by Strata, read by C++ leveldb 1.23 through internal/cleveldb: every entry
// exact through leveldb's iterator and its point-lookup path (Table::InternalGet), and
// leveldb's counting filter policy shows that it used Strata's bloom filters. compat_test.go
// checks the other direction without cgo. Run with `go test -tags cleveldb ./sstable/`.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/cleveldb"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/testutil/tablespec"
	"github.com/stratadb/strata/sstable"
)

// interopVariant is one set of writer options applied to every spec's entries.
type interopVariant struct {
	snappy, bloom bool
}

func (v interopVariant) String() string {
	c, f := "none", "nofilter"
	if v.snappy {
		c = "snappy"
	}
	if v.bloom {
		f = "bloom"
	}
	return c + "-" + f
}

var interopVariants = []interopVariant{{false, false}, {false, true}, {true, false}, {true, true}}

// interopWriterOptions returns Strata's options for spec s's keys with variant v; the block
// size and restart interval stay the spec's.
func interopWriterOptions(s tablespec.Spec, v interopVariant) sstable.WriterOptions {
	wo := sstable.WriterOptions{BlockSize: s.BlockSize, RestartInterval: s.RestartInterval,
		Compression: sstable.NoCompression}
	if v.snappy {
		wo.Compression = sstable.SnappyCompression
	}
	if v.bloom {
		wo.Filter = sstable.NewBloomPolicy(10)
	}
	if s.InternalKeys {
		wo.Comparator = keys.NewInternalComparator(keys.Bytewise)
		wo.FilterKey = keys.UserKey
	}
	return wo
}

// interopCOptions returns the C++ options that write the same table as Strata with v, and read
// it back with checksums verified and (whether or not the table has one) a counting bloom
// filter policy.
func interopCOptions(s tablespec.Spec, v interopVariant) cleveldb.TableOptions {
	o := cleveldb.TableOptionsFor(s)
	o.Compression = v.snappy
	o.BloomBitsPerKey = 0
	if v.bloom {
		o.BloomBitsPerKey = 10
	}
	return o
}

func interopWriteStrata(t *testing.T, path string, wo sstable.WriterOptions, es []tablespec.Entry) sstable.Metadata {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	w := sstable.NewWriter(f, wo)
	for _, e := range es {
		require.NoError(t, w.Add(e.Key, e.Value))
	}
	md, err := w.Finish()
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, uint64(fi.Size()), md.Size)
	return md
}

// TestInteropLeveldbReadsStrataTables writes every spec's entries (raw bytewise keys from 0 to
// 10,000 bytes, values from 0 to 1 MiB, over a hundred blocks, and a DB-style table of
// internal keys) with Strata, with and without snappy and a bloom filter, and has C++ leveldb
// read each table back.
func TestInteropLeveldbReadsStrataTables(t *testing.T) {
	dir := t.TempDir()
	for _, s := range tablespec.Specs() {
		want := s.Entries()
		absent := s.AbsentKeys(2000)
		for _, v := range interopVariants {
			t.Run(s.Name+"/"+v.String(), func(t *testing.T) {
				path := filepath.Join(dir, fmt.Sprintf("%s-%s.ldb", s.Name, v))
				interopWriteStrata(t, path, interopWriterOptions(s, v), want)
				interopCheckWithLeveldb(t, path, s, v, want, absent)
				if !v.snappy {
					// Without compression leveldb's writer is deterministic: same bytes.
					cpath := path + ".cpp"
					_, err := cleveldb.WriteTable(cpath, interopCOptions(s, v), s.All())
					require.NoError(t, err)
					interopRequireSameBytes(t, cpath, path)
				}
			})
		}
	}
}

func interopRequireSameBytes(t *testing.T, cppPath, strataPath string) {
	t.Helper()
	a, err := os.ReadFile(cppPath)
	require.NoError(t, err)
	b, err := os.ReadFile(strataPath)
	require.NoError(t, err)
	if bytes.Equal(a, b) {
		return
	}
	at := min(len(a), len(b))
	for i := 0; i < at; i++ {
		if a[i] != b[i] {
			at = i
			break
		}
	}
	t.Fatalf("Strata's uncompressed table (%d bytes) differs from leveldb's (%d bytes) at offset %d", len(b), len(a), at)
}

// interopCheckWithLeveldb reads the table at path with C++ leveldb: a forward scan (with
// checksums verified), a reverse scan, seeks, a point lookup of every key, and lookups of
// absent keys, whose filter statistics must show the filter at work when the table has one.
func interopCheckWithLeveldb(t *testing.T, path string, s tablespec.Spec, v interopVariant,
	want []tablespec.Entry, absent [][]byte) {
	t.Helper()
	o := interopCOptions(s, v)
	o.BloomBitsPerKey = 10 // read with a counting policy even when the table has no filter
	o.ParanoidChecks, o.VerifyChecksums = true, true

	i := 0
	require.NoError(t, cleveldb.ReadTable(path, o, func(k, val []byte) error {
		require.Less(t, i, len(want), "extra entry %q", k)
		require.True(t, bytes.Equal(want[i].Key, k), "entry %d: key %q, want %q", i, k, want[i].Key)
		require.True(t, bytes.Equal(want[i].Value, val), "entry %d: value differs", i)
		i++
		return nil
	}))
	require.Equal(t, len(want), i, "entries leveldb read")

	tab, err := cleveldb.OpenTable(path, o)
	require.NoError(t, err)
	defer func() { require.NoError(t, tab.Close()) }()

	it := tab.NewIterator()
	i = len(want) - 1
	for ok := it.SeekToLast(); ok; ok = it.Prev() {
		require.True(t, bytes.Equal(want[i].Key, it.Key()), "reverse entry %d", i)
		require.True(t, bytes.Equal(want[i].Value, it.Value()), "reverse entry %d: value", i)
		i--
	}
	require.Equal(t, -1, i)
	for j := 0; j < len(want); j += 7 {
		require.True(t, it.Seek(want[j].Key))
		require.True(t, bytes.Equal(want[j].Key, it.Key()), "seek to entry %d", j)
	}
	require.NoError(t, it.Close())

	// Every entry through Table::InternalGet: exact keys, and for internal keys also the DB's
	// lookup key of each user key, which must land on its newest version.
	lookups := 0
	for j, e := range want {
		k, val, ok, err := tab.Lookup(e.Key)
		require.NoError(t, err)
		require.True(t, ok, "entry %d not found", j)
		require.True(t, bytes.Equal(e.Key, k), "entry %d: lookup found %q", j, k)
		require.True(t, bytes.Equal(e.Value, val), "entry %d: value differs", j)
		lookups++
		if s.InternalKeys && (j == 0 || !bytes.Equal(keys.UserKey(want[j-1].Key), keys.UserKey(e.Key))) {
			k, _, ok, err := tab.Lookup(s.LookupKey(keys.UserKey(e.Key)))
			require.NoError(t, err)
			require.True(t, ok && bytes.Equal(e.Key, k), "lookup key of entry %d found %q", j, k)
			lookups++
		}
	}
	calls, negatives := tab.FilterStats()
	if v.bloom {
		require.Equal(t, int64(lookups), calls, "leveldb asks Strata's filter on every lookup")
		require.Zero(t, negatives, "Strata's filter ruled out a present key")
	} else {
		require.Zero(t, calls, "a table without a filter block")
	}

	for _, k := range absent {
		got, _, ok, err := tab.Lookup(s.LookupKey(k))
		require.NoError(t, err)
		if ok {
			got = bytes.Clone(got)
			if s.InternalKeys {
				got = keys.UserKey(got)
			}
		}
		require.False(t, ok && bytes.Equal(got, k), "absent key %q found", k)
	}
	c2, n2 := tab.FilterStats()
	c2, n2 = c2-calls, n2-negatives
	if !v.bloom {
		require.Zero(t, c2)
		return
	}
	// A key past the last index key ends at the index, before any filter; every other lookup
	// must ask the filter, and the filter must rule out nearly all of them.
	cmp := bytes.Compare
	if s.InternalKeys {
		cmp = keys.NewInternalComparator(keys.Bytewise).Compare
	}
	inRange := 0
	for _, k := range absent {
		if len(want) > 0 && cmp(s.LookupKey(k), want[len(want)-1].Key) <= 0 {
			inRange++
		}
	}
	t.Logf("leveldb asked Strata's filter about %d of %d absent keys (%d inside the table's range); it ruled out %d",
		c2, len(absent), inRange, n2)
	require.GreaterOrEqual(t, c2, int64(inRange))
	require.GreaterOrEqual(t, float64(n2), 0.95*float64(c2),
		"the filter ruled out %d of %d absent keys", n2, c2)
}

// TestInteropApproximateOffsets compares Strata's and leveldb's offset estimates on the same
// table: both take the handle of the index entry a key seeks to.
func TestInteropApproximateOffsets(t *testing.T) {
	dir := t.TempDir()
	for _, s := range tablespec.Specs() {
		t.Run(s.Name, func(t *testing.T) {
			want := s.Entries()
			v := interopVariant{snappy: true, bloom: true}
			path := filepath.Join(dir, s.FileName())
			wo := interopWriterOptions(s, v)
			interopWriteStrata(t, path, wo, want)

			f, err := os.Open(path)
			require.NoError(t, err)
			defer f.Close()
			fi, err := f.Stat()
			require.NoError(t, err)
			r, err := sstable.Open(f, path, fi.Size(), sstable.ReaderOptions{Comparator: wo.Comparator})
			require.NoError(t, err)
			defer r.Close()
			tab, err := cleveldb.OpenTable(path, interopCOptions(s, v))
			require.NoError(t, err)
			defer tab.Close()

			probe := func(k []byte) {
				require.Equal(t, tab.ApproximateOffsetOf(k), r.ApproximateOffsetOf(k), "key %q", k)
			}
			for j := 0; j < len(want); j += 3 {
				probe(want[j].Key)
			}
			for _, k := range s.AbsentKeys(200) {
				probe(s.LookupKey(k))
			}
		})
	}
}
