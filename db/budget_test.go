package db

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/vfs"
)

// The budget sizes the parts: memtables, block cache and mapped tables a quarter each at most.
func TestMemoryBudgetParts(t *testing.T) {
	for _, budget := range []int64{1 << 20, 16 << 20, 256 << 20, 1200 << 20} {
		o := (&Options{MemoryBudget: budget}).sanitize()
		d := &DB{opts: o}
		require.InDelta(t, d.memCapacity(0)*17/16, d.memFootprint(), 16, "budget %d: an index of a sixteenth of the arena", budget)
		b := max(budget, minMemoryBudget)
		require.Equal(t, b, o.MemoryBudget)
		require.LessOrEqual(t, int64(3*d.memFootprint()), b/4+1, "budget %d: memtables within a quarter", budget)
		require.Equal(t, int(b/4), o.BlockCacheSize, "budget %d", budget)
		require.LessOrEqual(t, o.WriteBufferSize, defaultWriteBufferSize)
	}
	o := (&Options{MemoryBudget: 1 << 30, BlockCacheSize: 1 << 20}).sanitize()
	require.Equal(t, 1<<20, o.BlockCacheSize, "a smaller BlockCacheSize stays")
	o = (&Options{MemoryBudget: 1 << 30, BlockCacheSize: -1}).sanitize()
	require.Equal(t, -1, o.BlockCacheSize, "no cache stays no cache")
}

// Under a 16 MiB budget, a DB of about 50 MB on the OS filesystem (so that tables are mapped)
// stays within the budget while a scan, point reads, writes and a second load run at once:
// tables past the mapped quarter are read with ReadAt, and every sample of Metrics.Memory adds
// up to at most the budget.
func TestMemoryBudgetHeldUnderScan(t *testing.T) {
	const budget = 16 << 20
	dir := t.TempDir()
	d, err := Open(dir, &Options{MemoryBudget: budget})
	require.NoError(t, err)
	defer d.Close()
	const n = 300000
	random := randValue(newRand(testSeed(t)), 1<<20) // values from it are incompressible
	valueAt := func(i int) []byte { o := (i * 151) % (len(random) - 150); return random[o : o+150] }
	value := valueAt(0)
	l, err := d.NewLoader(nil)
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, l.Put(fmt.Appendf(nil, "key%08d", i*2), valueAt(i)))
	}
	require.NoError(t, l.Commit())

	var stop atomic.Bool
	var wg sync.WaitGroup
	var maxTotal, maxMapped atomic.Int64
	sample := func() {
		m := d.Metrics().Memory
		require.Equal(t, int64(budget), m.Budget)
		for cur := maxTotal.Load(); m.Total() > cur && !maxTotal.CompareAndSwap(cur, m.Total()); cur = maxTotal.Load() {
		}
		for cur := maxMapped.Load(); m.MappedTables > cur && !maxMapped.CompareAndSwap(cur, m.MappedTables); cur = maxMapped.Load() {
		}
	}
	wg.Add(3)
	go func() { // samples
		defer wg.Done()
		for !stop.Load() {
			sample()
			time.Sleep(time.Millisecond)
		}
	}()
	go func() { // point reads and writes
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			k := fmt.Appendf(nil, "key%08d", (i*7919)%n*2)
			_, err := d.Get(k, nil)
			require.NoError(t, err)
			require.NoError(t, d.Put(fmt.Appendf(nil, "key%08d", (i*31)%n*2+1), value, nil))
		}
	}()
	go func() { // a second load, of the odd keys
		defer wg.Done()
		l, err := d.NewLoader(nil)
		require.NoError(t, err)
		for i := range 20000 {
			require.NoError(t, l.Put(fmt.Appendf(nil, "key%08d", i*2+1), value))
		}
		require.NoError(t, l.Commit())
	}()
	it := d.NewIterator(nil)
	count := 0
	for ok := it.First(); ok; ok = it.Next() {
		count++
		if count%20000 == 0 {
			sample()
		}
	}
	require.NoError(t, it.Close())
	stop.Store(true)
	wg.Wait()
	sample()
	require.GreaterOrEqual(t, count, n)
	m := d.Metrics()
	t.Logf("tables %d bytes; memory: most %d of %d (mapped tables at most %d); now %+v",
		tableBytes(d), maxTotal.Load(), budget, maxMapped.Load(), m.Memory)
	require.Greater(t, tableBytes(d), uint64(budget), "the DB outgrows the budget")
	require.LessOrEqual(t, maxTotal.Load(), int64(budget), "the budget held")
	require.LessOrEqual(t, maxMapped.Load(), int64(budget/4))
	require.Positive(t, maxMapped.Load(), "some tables are mapped")
}

// A loader that finds the budget's room held by another waits for it, as a write stall of
// reason StallMemory, and goes on when the other commits; one asking for more than the budget
// could ever hold gets smaller buffers.
func TestMemoryBudgetLoaderWaits(t *testing.T) {
	d := openMem(t, vfs.NewMem(), &Options{MemoryBudget: 16 << 20})
	defer d.Close()
	a, err := d.NewLoader(&LoaderOptions{BufferSize: 1 << 30})
	require.NoError(t, err)
	require.Less(t, a.limit, 4<<20, "shrunk to fit the budget")
	require.NoError(t, a.Put([]byte("a"), []byte("1")))

	got := make(chan *Loader)
	go func() {
		b, err := d.NewLoader(&LoaderOptions{BufferSize: 1 << 20})
		require.NoError(t, err)
		got <- b
	}()
	select {
	case <-got:
		t.Fatal("the second loader did not wait")
	case <-time.After(50 * time.Millisecond):
	}
	require.NoError(t, a.Commit())
	b := <-got
	require.NoError(t, b.Put([]byte("b"), []byte("2")))
	require.NoError(t, b.Commit())
	m := d.Metrics()
	require.EqualValues(t, 1, m.WriteStalls[StallMemory].Count)
	require.Zero(t, m.Memory.Loaders, "reservations returned")
	requireSame(t, kv{"a": "1", "b": "2"}, dump(t, d, nil), "both loads")

	// Close wakes a waiting loader.
	c, err := d.NewLoader(&LoaderOptions{BufferSize: 1 << 30})
	require.NoError(t, err)
	errs := make(chan error)
	go func() {
		_, err := d.NewLoader(nil)
		errs <- err
	}()
	time.Sleep(20 * time.Millisecond)
	c.Discard()
	require.NoError(t, <-errs) // c's room came back first
}
