package db

// The write and read paths through memtables and tables: many writes flushed and reopened,
// memtables recycled once nothing reads them, and Has finding a value without copying it.

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/vfs"
	"github.com/stratadb/strata/memtable"
)

func TestManyWritesFlushAndReopen(t *testing.T) {
	fs := vfs.NewMem()
	d := openMem(t, fs, &Options{WriteBufferSize: 64 << 10})
	const n = 20000
	for i := 0; i < n; i++ {
		require.NoError(t, d.Put([]byte(fmt.Sprintf("key%06d", i)), []byte(fmt.Sprintf("value%d", i)), nil))
	}
	for i := 0; i < n; i += 997 {
		v, err := d.Get([]byte(fmt.Sprintf("key%06d", i)), nil)
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("value%d", i), string(v))
	}
	it := d.NewIterator(nil)
	count := 0
	for ok := it.First(); ok; ok = it.Next() {
		require.Equal(t, fmt.Sprintf("key%06d", count), string(it.Key()))
		count++
	}
	require.NoError(t, it.Close())
	require.Equal(t, n, count)
	t.Log(d.Property("leveldb.stats"))
	require.NoError(t, d.Close())

	d = openMem(t, fs, nil)
	it = d.NewIterator(nil)
	count = 0
	for ok := it.Last(); ok; ok = it.Prev() {
		count++
	}
	require.NoError(t, it.Close())
	require.Equal(t, n, count)
	require.NoError(t, d.Close())
}

// TestMemTableRecycling: a memtable that nothing uses any more is reset and reused at a later
// log switch, but never while a reader (here an iterator) still holds it.
func TestMemTableRecycling(t *testing.T) {
	d := openMem(t, vfs.NewMem(), &Options{WriteBufferSize: 64 << 10})
	defer d.Close()
	put := func(round, n int) {
		for i := range n {
			require.NoError(t, d.Put(fmt.Appendf(nil, "r%d-%03d", round, i), fmt.Appendf(nil, "v%d-%d", round, i), nil))
		}
	}
	current := func() *memtable.MemTable {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.mu.mem
	}
	put(0, 100)
	held := current()
	it := d.NewIterator(nil)
	seen := map[*memtable.MemTable]int{}
	reused := false
	for round := 1; round <= 6; round++ {
		require.NoError(t, d.flushMemTable())
		m := current()
		require.NotSame(t, held, m, "a table an iterator holds is never reused")
		if seen[m] > 0 {
			reused = true
		}
		seen[m]++
		put(round, 100)
	}
	require.True(t, reused, "flushed tables nobody holds are reused")
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		require.Equal(t, fmt.Sprintf("r0-%03d", n), string(it.Key()))
		require.Equal(t, fmt.Sprintf("v0-%d", n), string(it.Value()))
		n++
	}
	require.Equal(t, 100, n, "the iterator reads its own memtable, intact")
	require.NoError(t, it.Close())
	for round := 7; round <= 10; round++ {
		require.NoError(t, d.flushMemTable())
		put(round, 100)
	}
	for round := 0; round <= 10; round++ {
		for i := 0; i < 100; i += 7 {
			v, err := d.Get(fmt.Appendf(nil, "r%d-%03d", round, i), nil)
			require.NoError(t, err)
			require.Equal(t, fmt.Sprintf("v%d-%d", round, i), string(v))
		}
	}
}

// TestHasDoesNotCopyTheValue: Has allocates far less than the value it finds, in the memtable
// (a 1 MiB value) or in a table (a 64 KiB value, in one block the block cache keeps), while Get
// copies the value every time.
func TestHasDoesNotCopyTheValue(t *testing.T) {
	d := openMem(t, vfs.NewMem(), &Options{WriteBufferSize: 8 << 20, Compression: NoCompression})
	defer d.Close()
	const tableValue, memValue = 64 << 10, 1 << 20
	require.NoError(t, d.Put([]byte("table"), bytes.Repeat([]byte("t"), tableValue), nil))
	require.NoError(t, d.CompactRange(nil, nil))
	require.NoError(t, d.Put([]byte("mem"), bytes.Repeat([]byte("m"), memValue), nil))

	const n = 20
	allocated := func(f func()) uint64 {
		f() // the table's block enters the cache
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range n {
			f()
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	for _, tc := range []struct {
		key  string
		size uint64
	}{{"mem", memValue}, {"table", tableValue}} {
		t.Run(tc.key, func(t *testing.T) {
			has := allocated(func() {
				ok, err := d.Has([]byte(tc.key), nil)
				if err != nil || !ok {
					panic(fmt.Sprint("Has: ", ok, err))
				}
			})
			get := allocated(func() {
				if _, err := d.Get([]byte(tc.key), nil); err != nil {
					panic(err)
				}
			})
			require.GreaterOrEqual(t, get, n*tc.size, "Get copies the value each time")
			require.Less(t, has, tc.size, "Has allocated %d bytes for %d lookups of a %d-byte value", has, n, tc.size)
		})
	}
}
