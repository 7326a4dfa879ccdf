package db

// Small behaviours of a whole DB: the write and read paths through memtables and tables (many
// writes flushed and reopened, memtables recycled once nothing reads them, Has finding a value
// without copying it), and what the DB reports about itself (properties, approximate sizes).

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/memtable"
	"github.com/stratadb/strata/vfs"
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

func TestProperties(t *testing.T) {
	fs := vfs.NewMem()
	d := openMem(t, fs, &Options{WriteBufferSize: 64 << 10})
	defer d.Close()

	for level := range compaction.NumLevels {
		require.Equal(t, 0, numFiles(t, d, level), "an empty DB, level %d", level)
	}
	memUsage := func() int { return intProperty(t, d, "leveldb.approximate-memory-usage") }
	empty := memUsage()

	for i := range 100 {
		require.NoError(t, d.Put(fmt.Appendf(nil, "m%03d", i), make([]byte, 300), nil))
	}
	require.Greater(t, memUsage(), empty+100*300, "memory usage counts the memtable")

	rng := newRand(3)
	for i := range 3000 {
		require.NoError(t, d.Put(fmt.Appendf(nil, "k%05d", i), randValue(rng, 300), nil))
	}
	require.NoError(t, d.CompactRange(nil, nil))

	total := 0
	for level := range compaction.NumLevels {
		total += numFiles(t, d, level)
	}
	live := currentFiles(d)
	require.Equal(t, len(live), total, "num-files-at-level<N> adds up to the tables of the current Version")
	require.Equal(t, live, tableFiles(t, fs), "the tables on disk are those of the current Version")

	sst, ok := d.Property("leveldb.sstables")
	require.True(t, ok)
	for n := range live {
		require.Contains(t, sst, fmt.Sprintf("%06d:", n), "leveldb.sstables lists table %d", n)
	}

	stats, ok := d.Property("leveldb.stats")
	require.True(t, ok)
	require.Contains(t, stats, "Compactions")
	require.Contains(t, stats, "Level  Files Size(MB) Time(sec) Read(MB) Write(MB)")
	require.Contains(t, stats, "Flushes:")

	for _, name := range []string{
		"", "leveldb.", "leveldb.num-files-at-level", "leveldb.num-files-at-level7",
		"leveldb.num-files-at-level-1", "leveldb.num-files-at-levelx", "leveldb.num-files-at-level99999999999999999999",
		"leveldb.statsx", "leveldb.stat", "rocksdb.stats", "LEVELDB.STATS", "leveldb.sstables ", "stats",
	} {
		v, ok := d.Property(name)
		require.False(t, ok, "unknown property %q", name)
		require.Empty(t, v)
	}
}

// TestApproximateSizes writes disjoint key ranges of known sizes (incompressible values, so the
// tables are as large as the data) and checks the estimates.
func TestApproximateSizes(t *testing.T) {
	d := openMem(t, vfs.NewMem(), &Options{WriteBufferSize: 64 << 10, Compression: NoCompression})
	defer d.Close()
	rng := newRand(5)
	fill := func(prefix string, n int) {
		for i := range n {
			require.NoError(t, d.Put(fmt.Appendf(nil, "%s%05d", prefix, i), randValue(rng, 1000), nil))
		}
	}
	ranges := []Range{
		{Start: []byte("a"), Limit: []byte("b")},
		{Start: []byte("b"), Limit: []byte("c")},
		{Start: []byte("c"), Limit: []byte("d")},
		{Start: []byte("x"), Limit: []byte("z")},
		{Start: []byte("c"), Limit: []byte("a")}, // backwards: nothing
		{Start: []byte("a"), Limit: []byte("a")}, // empty
	}
	sizes := func() []uint64 {
		s, err := d.ApproximateSizes(ranges)
		require.NoError(t, err)
		require.Len(t, s, len(ranges))
		return s
	}
	around := func(got uint64, want int, what string) {
		t.Helper()
		require.InDelta(t, want, got, float64(want)/5+20_000, "%s: %d bytes, expected about %d", what, got, want)
	}

	got, err := d.ApproximateSizes(nil)
	require.NoError(t, err)
	require.Empty(t, got)

	fill("a", 2000)
	fill("c", 500)
	require.NoError(t, d.CompactRange(nil, nil))
	s := sizes()
	around(s[0], 2000*1000, "a")
	around(s[1], 0, "b (nothing written)")
	around(s[2], 500*1000, "c")
	require.Zero(t, s[3], "x..z")
	require.Zero(t, s[4], "a backwards range")
	require.Zero(t, s[5], "an empty range")

	fill("b", 1000)
	require.NoError(t, d.CompactRange(nil, nil))
	s2 := sizes()
	around(s2[0], 2000*1000, "a, after writing b")
	around(s2[1], 1000*1000, "b, after writing it")
	around(s2[2], 500*1000, "c, after writing b")

	// Data still in the memtable is not counted, as in leveldb.
	for i := range 20 {
		require.NoError(t, d.Put(fmt.Appendf(nil, "y%05d", i), make([]byte, 1000), nil))
	}
	require.Zero(t, sizes()[3], "x..z with y only in the memtable")
	require.NoError(t, d.CompactRange(nil, nil))
	require.Positive(t, sizes()[3], "x..z once y is flushed")
	stats, _ := d.Property("leveldb.sstables")
	t.Log(strings.TrimSpace(stats))
}

// TestPropertyMappedLogBytes: strata.mapped-log-bytes counts every log record written through a
// mapping, across log switches.
func TestPropertyMappedLogBytes(t *testing.T) {
	d := openMem(t, vfs.NewMem(), nil)
	defer d.Close()
	get := func() int { return intProperty(t, d, "strata.mapped-log-bytes") }
	require.Zero(t, get())
	require.NoError(t, d.Put([]byte("k"), make([]byte, 1000), nil))
	first := get()
	require.Greater(t, first, 1000, "the record, with its batch header and framing")
	require.NoError(t, d.flushMemTable())
	require.NoError(t, d.Put([]byte("k"), make([]byte, 1000), nil))
	require.Equal(t, 2*first, get(), "the finished log's bytes are kept")
}
