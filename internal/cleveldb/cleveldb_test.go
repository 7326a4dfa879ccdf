//go:build cleveldb

package cleveldb

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func key(i int) []byte   { return []byte(fmt.Sprintf("key%06d", i)) }
func value(i int) []byte { return []byte(fmt.Sprintf("value-%d-%s", i, strings.Repeat("v", i%50))) }

func openDB(t testing.TB, dir string, o Options) *DB {
	t.Helper()
	o.CreateIfMissing = true
	d, err := Open(dir, o)
	require.NoError(t, err)
	return d
}

// collect iterates the DB forward and returns "k=v" strings.
func collect(t *testing.T, d *DB) []string {
	t.Helper()
	it := d.NewIterator()
	var out []string
	for ok := it.SeekToFirst(); ok; ok = it.Next() {
		out = append(out, string(it.Key())+"="+string(it.Value()))
	}
	require.NoError(t, it.Close())
	return out
}

func TestDBPutGetDelete(t *testing.T) {
	d := openDB(t, t.TempDir(), Options{})
	defer d.Close()

	require.NoError(t, d.Put([]byte("a"), []byte("1"), false))
	require.NoError(t, d.Put([]byte("b"), []byte("2"), true))
	require.NoError(t, d.Put([]byte{}, []byte{}, false)) // the empty key and value work

	v, found, err := d.Get([]byte("a"))
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, []byte("1"), v)

	v, found, err = d.Get([]byte{})
	require.NoError(t, err)
	require.True(t, found)
	require.NotNil(t, v)
	require.Empty(t, v)

	require.NoError(t, d.Delete([]byte("a"), false))
	require.NoError(t, d.Delete([]byte("never"), false))
	_, found, err = d.Get([]byte("a"))
	require.NoError(t, err)
	require.False(t, found)

	require.Equal(t, []string{"=", "b=2"}, collect(t, d))
}

func TestDBWriteBatch(t *testing.T) {
	d := openDB(t, t.TempDir(), Options{})
	defer d.Close()
	require.NoError(t, d.Put([]byte("gone"), []byte("x"), false))

	var b Batch
	for i := 0; i < 100; i++ {
		b.Put(key(i), value(i))
	}
	b.Delete([]byte("gone"))
	b.Delete(key(50))
	require.Equal(t, 102, b.Len())
	require.NoError(t, d.Write(&b, true))

	for i := 0; i < 100; i++ {
		v, found, err := d.Get(key(i))
		require.NoError(t, err)
		require.Equal(t, i != 50, found, i)
		if found {
			require.Equal(t, value(i), v)
		}
	}
	_, found, err := d.Get([]byte("gone"))
	require.NoError(t, err)
	require.False(t, found)

	b.Reset()
	require.Zero(t, b.Len())
	require.NoError(t, d.Write(&b, false)) // an empty batch is fine
}

func TestDBIterator(t *testing.T) {
	d := openDB(t, t.TempDir(), Options{})
	defer d.Close()
	for i := 0; i < 1000; i += 2 {
		require.NoError(t, d.Put(key(i), value(i), false))
	}
	it := d.NewIterator()
	require.False(t, it.Valid())

	require.True(t, it.SeekToFirst())
	require.Equal(t, key(0), it.Key())
	require.True(t, it.SeekToLast())
	require.Equal(t, key(998), it.Key())
	require.False(t, it.Next())

	require.True(t, it.Seek(key(501)))
	require.Equal(t, key(502), it.Key())
	require.Equal(t, value(502), it.Value())
	require.True(t, it.Prev())
	require.Equal(t, key(500), it.Key())

	n := 0
	for ok := it.SeekToLast(); ok; ok = it.Prev() {
		require.Equal(t, key(998-2*n), it.Key())
		n++
	}
	require.Equal(t, 500, n)
	require.False(t, it.Seek([]byte("zzz")))
	require.False(t, it.Next()) // moving an invalid iterator is refused, not a crash

	require.ErrorIs(t, d.Close(), ErrIteratorsOpen)
	require.NoError(t, it.Close())
	require.NoError(t, it.Close())
}

func TestDBReopen(t *testing.T) {
	dir := t.TempDir()
	o := Options{Compression: true, BloomBitsPerKey: 10, WriteBufferSize: 64 << 10}
	d := openDB(t, dir, o)
	for i := 0; i < 5000; i++ {
		require.NoError(t, d.Put(key(i), value(i), false))
	}
	for i := 0; i < 5000; i += 7 {
		require.NoError(t, d.Delete(key(i), false))
	}
	require.NoError(t, d.Close())
	require.ErrorIs(t, d.Close(), ErrClosed)
	require.ErrorIs(t, d.Put(key(1), nil, false), ErrClosed)

	_, err := Open(dir, Options{ErrorIfExists: true})
	require.Error(t, err)
	_, err = Open(filepath.Join(dir, "missing"), Options{})
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, InvalidArgument, e.Code)
	require.Contains(t, err.Error(), "does not exist")

	d, err = Open(dir, o)
	require.NoError(t, err)
	defer d.Close()
	for i := 0; i < 5000; i++ {
		v, found, err := d.Get(key(i))
		require.NoError(t, err)
		require.Equal(t, i%7 != 0, found, i)
		if found {
			require.Equal(t, value(i), v)
		}
	}
}

func TestDBCompactPropertySizes(t *testing.T) {
	d := openDB(t, t.TempDir(), Options{WriteBufferSize: 64 << 10})
	defer d.Close()
	for i := 0; i < 20000; i++ {
		require.NoError(t, d.Put(key(i), value(i), false))
	}
	require.NoError(t, d.CompactRange(nil, nil))

	files := 0
	for level := 0; level < 7; level++ {
		s, ok := d.Property("leveldb.num-files-at-level" + strconv.Itoa(level))
		require.True(t, ok)
		n, err := strconv.Atoi(s)
		require.NoError(t, err)
		files += n
	}
	require.Positive(t, files)
	stats, ok := d.Property("leveldb.stats")
	require.True(t, ok)
	require.Contains(t, stats, "Compactions")
	_, ok = d.Property("leveldb.no-such-property")
	require.False(t, ok)

	sizes, err := d.GetApproximateSizes([]Range{
		{Start: key(0), Limit: key(20000)},
		{Start: key(0), Limit: key(10000)},
		{Start: []byte("a"), Limit: []byte("b")},
	})
	require.NoError(t, err)
	require.Len(t, sizes, 3)
	require.Greater(t, sizes[0], uint64(500<<10))
	require.Less(t, sizes[1], sizes[0])
	require.Greater(t, sizes[1], sizes[0]/4)
	require.Zero(t, sizes[2])
}

func TestRepairAndDestroy(t *testing.T) {
	dir := t.TempDir()
	d := openDB(t, dir, Options{WriteBufferSize: 64 << 10})
	for i := 0; i < 5000; i++ {
		require.NoError(t, d.Put(key(i), value(i), false))
	}
	require.NoError(t, d.Close())

	// Without CURRENT and the MANIFEST the DB does not open; RepairDB rebuilds them from the
	// tables and the log.
	manifests, err := filepath.Glob(filepath.Join(dir, "MANIFEST-*"))
	require.NoError(t, err)
	require.NotEmpty(t, manifests)
	for _, f := range append(manifests, filepath.Join(dir, "CURRENT")) {
		require.NoError(t, os.Remove(f))
	}
	_, err = Open(dir, Options{})
	require.Error(t, err)

	require.NoError(t, Repair(dir, Options{}))
	d, err = Open(dir, Options{})
	require.NoError(t, err)
	got := collect(t, d)
	require.Len(t, got, 5000)
	require.Equal(t, string(key(1234))+"="+string(value(1234)), got[1234])
	require.NoError(t, d.Close())

	require.NoError(t, Destroy(dir, Options{}))
	_, err = os.Stat(filepath.Join(dir, "CURRENT"))
	require.True(t, os.IsNotExist(err))
}

func TestCountingFilter(t *testing.T) {
	_, err := Open(t.TempDir(), Options{CreateIfMissing: true, CountFilter: true})
	require.Error(t, err, "CountFilter without BloomBitsPerKey")

	dir := t.TempDir()
	o := Options{BloomBitsPerKey: 10, CountFilter: true}
	d := openDB(t, dir, o)
	for i := 0; i < 10000; i += 2 {
		require.NoError(t, d.Put(key(i), value(i), false))
	}
	require.NoError(t, d.CompactRange(nil, nil)) // move everything into tables
	require.NoError(t, d.Close())

	d, err = Open(dir, o)
	require.NoError(t, err)
	defer d.Close()
	calls, negatives := d.FilterStats()
	require.Zero(t, calls)

	for i := 0; i < 10000; i++ {
		_, found, err := d.Get(key(i))
		require.NoError(t, err)
		require.Equal(t, i%2 == 0, found)
	}
	calls, negatives = d.FilterStats()
	// Every Get inside the tables' key range consults the filter of the one table that may
	// hold the key (key(9999) is past the last table); about 1% of the absent keys pass a
	// 10-bit bloom filter.
	require.GreaterOrEqual(t, calls, int64(9999))
	require.Greater(t, negatives, int64(4800))
	require.LessOrEqual(t, negatives, int64(5000))
}

func TestTableRoundTrip(t *testing.T) {
	for _, o := range []TableOptions{
		{},
		{Compression: true, BloomBitsPerKey: 10},
		{BlockSize: 256, RestartInterval: 1, BloomBitsPerKey: 10},
	} {
		t.Run(fmt.Sprintf("%+v", o), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "000001.ldb")
			size, err := WriteTable(path, o, func(yield func(k, v []byte) bool) {
				for i := 0; i < 3000; i += 2 {
					if !yield(key(i), value(i)) {
						return
					}
				}
			})
			require.NoError(t, err)
			fi, err := os.Stat(path)
			require.NoError(t, err)
			require.Equal(t, uint64(fi.Size()), size)

			i := 0
			require.NoError(t, ReadTable(path, o, func(k, v []byte) error {
				require.Equal(t, key(i), k)
				require.Equal(t, value(i), v)
				i += 2
				return nil
			}))
			require.Equal(t, 3000, i)

			tab, err := OpenTable(path, o)
			require.NoError(t, err)
			defer tab.Close()
			for i := 0; i < 3000; i++ {
				v, found, err := tab.Get(key(i))
				require.NoError(t, err)
				require.Equal(t, i%2 == 0, found, i)
				if found {
					require.Equal(t, value(i), v)
				}
			}
			calls, negatives := tab.FilterStats()
			if o.BloomBitsPerKey == 0 {
				require.Zero(t, calls)
			} else {
				require.Equal(t, int64(3000), calls)
				require.Greater(t, negatives, int64(1450))
			}
			require.Less(t, tab.ApproximateOffsetOf(key(1000)), tab.ApproximateOffsetOf(key(2000)))

			it := tab.NewIterator()
			require.True(t, it.Seek(key(1001)))
			require.Equal(t, key(1002), it.Key())
			require.ErrorIs(t, tab.Close(), ErrIteratorsOpen)
			require.NoError(t, it.Close())
		})
	}
}

func TestTableBuilderRejectsOutOfOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.ldb")
	b, err := NewTableBuilder(path, TableOptions{})
	require.NoError(t, err)
	require.NoError(t, b.Add([]byte("b"), nil))
	require.Error(t, b.Add([]byte("a"), nil))
	require.Error(t, b.Add([]byte("c"), nil), "errors are sticky")
	_, err = b.Finish()
	require.Error(t, err)
	_, err = b.Finish()
	require.ErrorIs(t, err, ErrClosed)

	b, err = NewTableBuilder(path, TableOptions{Comparator: InternalKeys})
	require.NoError(t, err)
	require.Error(t, b.Add([]byte("short"), nil))
	b.Abandon()
}

func TestOpenTableErrors(t *testing.T) {
	_, err := OpenTable(filepath.Join(t.TempDir(), "missing.ldb"), TableOptions{})
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, NotFound, e.Code) // PosixEnv's answer to ENOENT

	path := filepath.Join(t.TempDir(), "junk.ldb")
	require.NoError(t, os.WriteFile(path, bytes.Repeat([]byte{7}, 100), 0o644))
	_, err = OpenTable(path, TableOptions{})
	require.True(t, IsCorruption(err), "%v", err)
}

func TestDBConcurrent(t *testing.T) {
	d := openDB(t, t.TempDir(), Options{})
	defer d.Close()
	const writers, per = 4, 500
	errs := make(chan error, 2*writers)
	for w := 0; w < writers; w++ {
		go func() {
			var err error
			for i := w * per; i < (w+1)*per && err == nil; i++ {
				if i%10 == 0 {
					var b Batch
					b.Put(key(i), value(i))
					err = d.Write(&b, false)
				} else {
					err = d.Put(key(i), value(i), false)
				}
			}
			errs <- err
		}()
		go func() {
			var err error
			for i := 0; i < per && err == nil; i++ {
				var v []byte
				var found bool
				if v, found, err = d.Get(key(w*per + i)); err == nil && found && !bytes.Equal(v, value(w*per+i)) {
					err = fmt.Errorf("key %d: wrong value %q", w*per+i, v)
				}
			}
			errs <- err
		}()
	}
	for i := 0; i < 2*writers; i++ {
		require.NoError(t, <-errs)
	}
	require.Len(t, collect(t, d), writers*per)
}
