package db

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/vfs"
)

func TestProperties(t *testing.T) {
	fs := vfs.NewMem()
	d := openMem(t, fs, &Options{WriteBufferSize: 64 << 10})
	defer d.Close()

	for level := range compaction.NumLevels {
		require.Equal(t, 0, numFiles(t, d, level), "an empty DB, level %d", level)
	}
	memUsage := func() int {
		s, ok := d.Property("leveldb.approximate-memory-usage")
		require.True(t, ok)
		n, err := strconv.Atoi(s)
		require.NoError(t, err, "approximate-memory-usage is a number: %q", s)
		return n
	}
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
	get := func() int {
		v, ok := d.Property("strata.mapped-log-bytes")
		require.True(t, ok)
		n, err := strconv.Atoi(v)
		require.NoError(t, err)
		return n
	}
	require.Zero(t, get())
	require.NoError(t, d.Put([]byte("k"), make([]byte, 1000), nil))
	first := get()
	require.Greater(t, first, 1000, "the record, with its batch header and framing")
	require.NoError(t, d.flushMemTable())
	require.NoError(t, d.Put([]byte("k"), make([]byte, 1000), nil))
	require.Equal(t, 2*first, get(), "the finished log's bytes are kept")
}
