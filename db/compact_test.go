package db

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/vfs"
)

// TestCompactionKeepsData writes random keys through many flushes and compactions, overwriting
// and deleting some, and checks every key against a model, before and after reopening.
func TestCompactionKeepsData(t *testing.T) {
	fs := vfs.NewMem()
	opts := &Options{WriteBufferSize: 64 << 10, MaxFileSize: 1 << 20}
	d := openMem(t, fs, opts)
	rng := rand.New(rand.NewPCG(1, 2))
	model := map[string]string{}
	const n = 60000
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("key%07d", rng.IntN(n/2))
		if rng.IntN(10) == 0 {
			require.NoError(t, d.Delete([]byte(k), nil))
			delete(model, k)
			continue
		}
		v := fmt.Sprintf("value-%d-%s", i, string(make([]byte, rng.IntN(100))))
		require.NoError(t, d.Put([]byte(k), []byte(v), nil))
		model[k] = v
	}
	check := func(d *DB) {
		for i := 0; i < n/2; i++ {
			k := fmt.Sprintf("key%07d", i)
			v, err := d.Get([]byte(k), nil)
			if want, ok := model[k]; ok {
				require.NoError(t, err, k)
				require.Equal(t, want, string(v), k)
			} else {
				require.ErrorIs(t, err, ErrNotFound, k)
			}
		}
		it := d.NewIterator(nil)
		count := 0
		for ok := it.First(); ok; ok = it.Next() {
			require.Equal(t, model[string(it.Key())], string(it.Value()))
			count++
		}
		require.NoError(t, it.Close())
		require.Equal(t, len(model), count)
	}
	check(d)
	stats, _ := d.Property("leveldb.stats")
	t.Log(stats)
	sst, _ := d.Property("leveldb.sstables")
	t.Log(sst)
	require.NoError(t, d.Close())
	d = openMem(t, fs, opts)
	check(d)
	require.NoError(t, d.CompactRange(nil, nil))
	check(d)
	sst, _ = d.Property("leveldb.sstables")
	t.Log("after CompactRange:\n" + sst)
	require.NoError(t, d.Close())
}

// TestFlushDropsOverwrites overwrites the same keys many times within one memtable: the flush
// (at CompactRange, and the one recovery makes on reopening) writes only the newest version of
// each key, except what a live snapshot still reads, and never loses the newest.
func TestFlushDropsOverwrites(t *testing.T) {
	fs := vfs.NewMem()
	d := openMem(t, fs, &Options{WriteBufferSize: 8 << 20, Compression: NoCompression})
	put := func(round int) {
		for i := range 100 {
			require.NoError(t, d.Put(fmt.Appendf(nil, "k%03d", i), fmt.Appendf(nil, "v%02d-%0500d", round, i), nil))
		}
	}
	tableBytes := func() uint64 {
		size, err := d.ApproximateSizes([]Range{{Start: []byte("k"), Limit: []byte("l")}})
		require.NoError(t, err)
		return size[0]
	}
	check := func(round int, ro *ReadOptions) {
		t.Helper()
		got := dump(t, d, ro)
		require.Len(t, got, 100)
		for k, v := range got {
			require.Equal(t, fmt.Sprintf("v%02d", round), v[:3], "key %s", k)
		}
	}
	for round := range 10 {
		put(round)
	}
	s := d.NewSnapshot() // reads round 9
	for round := 10; round < 20; round++ {
		put(round)
	}
	require.NoError(t, d.CompactRange(nil, nil))
	// Round 9 (the snapshot's) survives, and so do the rounds after it: the rule knows only the
	// oldest snapshot, and cannot tell that no other reads rounds 10 to 18. Rounds 0 to 8 go.
	require.InDelta(t, 11*100*520, float64(tableBytes()), 40_000)
	check(19, nil)
	check(9, &ReadOptions{Snapshot: s})
	s.Release()
	require.NoError(t, d.CompactRange(nil, nil)) // the in-place rewrite drops the rest
	require.InDelta(t, 100*520, float64(tableBytes()), 10_000)
	check(19, nil)

	// Recovery: twenty rounds in the log only, then a reopen flushes them to a table.
	for round := 20; round < 40; round++ {
		put(round)
	}
	require.NoError(t, d.Close())
	d = openMem(t, fs, &Options{WriteBufferSize: 8 << 20, Compression: NoCompression})
	defer d.Close()
	check(39, nil)
	require.NoError(t, d.CompactRange(nil, nil))
	require.InDelta(t, 100*520, float64(tableBytes()), 10_000)
	check(39, nil)
}
