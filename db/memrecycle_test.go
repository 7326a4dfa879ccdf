package db

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/vfs"
	"github.com/stratadb/strata/memtable"
)

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
