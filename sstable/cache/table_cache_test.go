package cache

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/dberr"
)

// fakeTable records its Close and fails the test if it is used or closed after Close.
type fakeTable struct {
	t        *testing.T
	fs       *fakeFS
	fileNum  uint64
	closed   atomic.Bool
	closeErr error
}

func (f *fakeTable) use() {
	if f.closed.Load() {
		f.t.Errorf("table %d used after Close", f.fileNum)
	}
}

func (f *fakeTable) Close() error {
	if f.closed.Swap(true) {
		f.t.Errorf("table %d closed twice", f.fileNum)
	}
	f.fs.open.Add(-1)
	return f.closeErr
}

// fakeFS opens fakeTables and counts opens per file and tables currently open.
type fakeFS struct {
	t        *testing.T
	open     atomic.Int64 // tables opened and not closed
	mu       sync.Mutex
	opens    map[uint64]int
	tables   []*fakeTable
	openErr  error         // returned by the next opens while set
	gate     chan struct{} // if non-nil, open waits for it to be closed
	entered  chan uint64   // if non-nil, open sends its file number here before waiting
	closeErr error         // given to every table opened
}

func newFakeFS(t *testing.T) *fakeFS { return &fakeFS{t: t, opens: map[uint64]int{}} }

// newFakeCache returns a fresh fakeFS and a TableCache of the given capacity over it.
func newFakeCache(t *testing.T, capacity int) (*fakeFS, *TableCache[*fakeTable]) {
	fs := newFakeFS(t)
	return fs, NewTableCache(capacity, fs.openTable)
}

// mustAcquire acquires fileNum's table from c and fails the test if that fails.
func mustAcquire(t testing.TB, c *TableCache[*fakeTable], fileNum uint64) *Handle[*fakeTable] {
	t.Helper()
	h, err := c.Acquire(fileNum)
	require.NoError(t, err)
	return h
}

// closeAllClosed closes c and checks that it left no table of fs open.
func closeAllClosed(t *testing.T, c *TableCache[*fakeTable], fs *fakeFS) {
	t.Helper()
	require.NoError(t, c.Close())
	require.Zero(t, fs.open.Load(), "tables left open after Close")
}

func (fs *fakeFS) openTable(fileNum uint64) (*fakeTable, error) {
	fs.mu.Lock()
	fs.opens[fileNum]++
	gate, entered, err := fs.gate, fs.entered, fs.openErr
	fs.mu.Unlock()
	if entered != nil {
		entered <- fileNum
	}
	if gate != nil {
		<-gate
	}
	if err != nil {
		return nil, err
	}
	tb := &fakeTable{t: fs.t, fs: fs, fileNum: fileNum, closeErr: fs.closeErr}
	fs.open.Add(1)
	fs.mu.Lock()
	fs.tables = append(fs.tables, tb)
	fs.mu.Unlock()
	return tb, nil
}

func (fs *fakeFS) opensOf(fileNum uint64) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.opens[fileNum]
}

// isOpen reports whether the latest table opened for fileNum is open.
func (fs *fakeFS) isOpen(fileNum uint64) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i := len(fs.tables) - 1; i >= 0; i-- {
		if fs.tables[i].fileNum == fileNum {
			return !fs.tables[i].closed.Load()
		}
	}
	return false
}

// checkInvariants verifies the cache's bookkeeping under its lock: the idle list holds exactly
// the cached unreferenced tables, the counts match, and open <= capacity + referenced.
func (c *TableCache[T]) checkInvariants() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	idle := 0
	for h := c.mu.lru.next; h != &c.mu.lru; h = h.next {
		if h.next.prev != h {
			return fmt.Errorf("broken idle list at table %d", h.fileNum)
		}
		if !h.cached || h.refs != 0 || c.mu.entries[h.fileNum] != h {
			return fmt.Errorf("idle table %d: cached=%v refs=%d", h.fileNum, h.cached, h.refs)
		}
		idle++
	}
	referencedCached := 0
	for fileNum, h := range c.mu.entries {
		if !h.cached || h.fileNum != fileNum {
			return fmt.Errorf("entry %d: cached=%v fileNum=%d", fileNum, h.cached, h.fileNum)
		}
		if h.refs > 0 {
			referencedCached++
		}
	}
	if idle+referencedCached != len(c.mu.entries) {
		return fmt.Errorf("%d idle + %d referenced != %d cached", idle, referencedCached, len(c.mu.entries))
	}
	if referencedCached > c.mu.referenced {
		return fmt.Errorf("%d referenced cached tables but referenced = %d", referencedCached, c.mu.referenced)
	}
	if len(c.mu.entries) > c.capacity && idle > 0 {
		return fmt.Errorf("%d cached > capacity %d with %d idle", len(c.mu.entries), c.capacity, idle)
	}
	if c.mu.open > c.capacity+c.mu.referenced {
		return fmt.Errorf("open %d > capacity %d + referenced %d", c.mu.open, c.capacity, c.mu.referenced)
	}
	return nil
}

func TestTableCacheOpensOnce(t *testing.T) {
	fs, c := newFakeCache(t, 10)
	h1 := mustAcquire(t, c, 7)
	h2 := mustAcquire(t, c, 7)
	h1.Release()
	h3 := mustAcquire(t, c, 7)
	require.Same(t, h1, h2)
	require.Same(t, h1, h3)
	require.Equal(t, uint64(7), h1.Value().fileNum)
	require.Equal(t, 1, fs.opensOf(7))
	h2.Release()
	h3.Release()
	require.Equal(t, TableCacheStats{Open: 1, Cached: 1, Capacity: 10, Hits: 2, Misses: 1}, c.Stats())
	require.NoError(t, c.checkInvariants())
	closeAllClosed(t, c, fs)
}

func TestTableCacheConcurrentAcquireOpensOnce(t *testing.T) {
	fs := newFakeFS(t)
	fs.gate = make(chan struct{})
	fs.entered = make(chan uint64, 1)
	c := NewTableCache(10, fs.openTable)
	const n = 8
	handles := make(chan *Handle[*fakeTable], n)
	for i := 0; i < n; i++ {
		go func() {
			h, err := c.Acquire(3)
			if err != nil {
				t.Error(err)
			}
			handles <- h
		}()
	}
	<-fs.entered // one open has started; let the others pile up behind it
	for c.Stats().Hits < n-1 {
		time.Sleep(time.Millisecond)
	}
	close(fs.gate)
	first := <-handles
	for i := 1; i < n; i++ {
		require.Same(t, first, <-handles)
	}
	require.Equal(t, 1, fs.opensOf(3))
	for i := 0; i < n; i++ {
		first.Release()
	}
	require.NoError(t, c.checkInvariants())
	closeAllClosed(t, c, fs)
}

func TestTableCacheLRU(t *testing.T) {
	fs, c := newFakeCache(t, 2)
	touch := func(fileNum uint64) {
		h := mustAcquire(t, c, fileNum)
		h.Value().use()
		h.Release()
	}
	touch(1)
	touch(2)
	touch(1) // 2 is now the least recently used
	touch(3)
	require.True(t, fs.isOpen(1))
	require.False(t, fs.isOpen(2), "the least recently used unreferenced table is closed")
	require.True(t, fs.isOpen(3))
	require.Equal(t, 2, c.Stats().Open)
	touch(2) // reopened; evicts 1
	require.Equal(t, 2, fs.opensOf(2))
	require.False(t, fs.isOpen(1))
	require.Equal(t, int64(2), fs.open.Load())
	require.NoError(t, c.checkInvariants())
	closeAllClosed(t, c, fs)
}

func TestTableCacheReferencedNeverClosed(t *testing.T) {
	fs, c := newFakeCache(t, 1)
	h1 := mustAcquire(t, c, 1)
	for f := uint64(2); f < 10; f++ {
		h := mustAcquire(t, c, f)
		h.Value().use()
		h.Release()
		require.False(t, fs.isOpen(f), "table %d: over capacity, closed at its release", f)
		h1.Value().use()
		require.NoError(t, c.checkInvariants())
	}
	require.True(t, fs.isOpen(1))
	c.Evict(1)
	require.True(t, fs.isOpen(1), "an evicted table stays open while referenced")
	h1.Value().use()
	h1.Release()
	require.False(t, fs.isOpen(1))
	require.Zero(t, c.Stats().Open)
	require.NoError(t, c.Close())
}

func TestTableCacheAllReferencedOverCapacity(t *testing.T) {
	fs, c := newFakeCache(t, 2)
	var hs []*Handle[*fakeTable]
	for f := uint64(1); f <= 4; f++ {
		h := mustAcquire(t, c, f)
		hs = append(hs, h)
	}
	require.Equal(t, TableCacheStats{Open: 4, Cached: 4, Capacity: 2, Misses: 4}, c.Stats())
	require.NoError(t, c.checkInvariants())
	for i, h := range hs {
		h.Release()
		// The first two releases find the cache over capacity and close their table.
		require.Equal(t, i >= 2, fs.isOpen(h.fileNum), "table %d", h.fileNum)
		require.NoError(t, c.checkInvariants())
	}
	require.Equal(t, 2, c.Stats().Open)
	closeAllClosed(t, c, fs)
}

func TestTableCacheCapacityZero(t *testing.T) {
	fs, c := newFakeCache(t, 0)
	h1 := mustAcquire(t, c, 1)
	h2 := mustAcquire(t, c, 1)
	require.Same(t, h1, h2, "a referenced table is shared even with capacity 0")
	h1.Release()
	require.True(t, fs.isOpen(1))
	h2.Release()
	require.False(t, fs.isOpen(1))
	require.Equal(t, TableCacheStats{Hits: 1, Misses: 1}, c.Stats())
	require.NoError(t, c.Close())
	require.Zero(t, NewTableCache(-5, fs.openTable).Stats().Capacity, "a negative capacity counts as 0")
}

func TestTableCacheEvict(t *testing.T) {
	fs, c := newFakeCache(t, 10)
	h := mustAcquire(t, c, 5)
	h.Release()
	c.Evict(5)
	require.False(t, fs.isOpen(5), "an unreferenced table is closed at once")
	c.Evict(5)  // no longer cached: no-op
	c.Evict(42) // never cached: no-op
	require.Equal(t, TableCacheStats{Capacity: 10, Misses: 1}, c.Stats())
	h = mustAcquire(t, c, 5)
	require.Equal(t, 2, fs.opensOf(5), "Acquire after Evict opens the file anew")
	h.Release()
	require.NoError(t, c.checkInvariants())
	closeAllClosed(t, c, fs)
}

// TestTableCacheDropWhileOpening drops a table from the cache, by Evict or by Close, while
// its open is running: the Acquire still gets the table, and it is closed at its Release.
func TestTableCacheDropWhileOpening(t *testing.T) {
	for _, how := range []string{"evict", "close"} {
		t.Run("by="+how, func(t *testing.T) {
			fs := newFakeFS(t)
			fs.gate = make(chan struct{})
			fs.entered = make(chan uint64, 1)
			c := NewTableCache(10, fs.openTable)
			done := make(chan *Handle[*fakeTable])
			go func() {
				h, err := c.Acquire(8)
				if err != nil {
					t.Error(err)
				}
				done <- h
			}()
			<-fs.entered
			if how == "evict" {
				c.Evict(8)
			} else {
				require.NoError(t, c.Close())
			}
			close(fs.gate)
			h := <-done
			h.Value().use()
			require.Zero(t, c.Stats().Cached)
			require.Equal(t, 1, c.Stats().Open)
			h.Release()
			require.False(t, fs.isOpen(8), "dropped during its open: closed at its release")
			require.Zero(t, c.Stats().Open)
			require.NoError(t, c.checkInvariants())
			require.NoError(t, c.Close())
		})
	}
}

func TestTableCacheCloseWithOutstandingHandles(t *testing.T) {
	fs, c := newFakeCache(t, 10)
	held := mustAcquire(t, c, 1)
	idle := mustAcquire(t, c, 2)
	idle.Release()

	require.NoError(t, c.Close())
	require.False(t, fs.isOpen(2), "Close closes unreferenced tables at once")
	require.True(t, fs.isOpen(1), "and leaves referenced ones open")
	held.Value().use()

	_, err := c.Acquire(1)
	require.ErrorIs(t, err, dberr.ErrClosed)
	_, err = c.Acquire(3)
	require.ErrorIs(t, err, dberr.ErrClosed)
	require.Equal(t, TableCacheStats{Open: 1, Capacity: 10, Misses: 2}, c.Stats())

	held.Release()
	require.False(t, fs.isOpen(1))
	require.Zero(t, fs.open.Load())
	require.NoError(t, c.Close(), "a second Close is a no-op")
}

func TestTableCacheOpenErrorNotCached(t *testing.T) {
	fs := newFakeFS(t)
	boom := errors.New("boom")
	fs.openErr = boom
	c := NewTableCache(10, fs.openTable)
	_, err := c.Acquire(4)
	require.ErrorIs(t, err, boom)
	require.Equal(t, TableCacheStats{Capacity: 10, Misses: 1}, c.Stats())
	require.NoError(t, c.checkInvariants())

	fs.mu.Lock()
	fs.openErr = nil
	fs.mu.Unlock()
	h := mustAcquire(t, c, 4)
	require.Equal(t, 2, fs.opensOf(4), "the error was not cached")
	h.Release()
	require.NoError(t, c.Close())
}

func TestTableCacheOpenErrorToAllWaiters(t *testing.T) {
	fs := newFakeFS(t)
	boom := errors.New("boom")
	fs.openErr = boom
	fs.gate = make(chan struct{})
	fs.entered = make(chan uint64, 1)
	c := NewTableCache(10, fs.openTable)
	const n = 8
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			h, err := c.Acquire(6)
			if h != nil {
				t.Error("a failed Acquire returned a handle")
			}
			errs <- err
		}()
	}
	<-fs.entered
	for c.Stats().Hits < n-1 {
		time.Sleep(time.Millisecond)
	}
	close(fs.gate)
	for i := 0; i < n; i++ {
		require.ErrorIs(t, <-errs, boom)
	}
	require.Equal(t, 1, fs.opensOf(6))
	require.Equal(t, TableCacheStats{Capacity: 10, Hits: n - 1, Misses: 1}, c.Stats())
	require.NoError(t, c.checkInvariants())

	fs.mu.Lock()
	fs.openErr, fs.gate, fs.entered = nil, nil, nil
	fs.mu.Unlock()
	h := mustAcquire(t, c, 6)
	require.Equal(t, 2, fs.opensOf(6))
	h.Release()
	require.NoError(t, c.Close())
}

func TestTableCacheOpenPanic(t *testing.T) {
	gate := make(chan struct{})
	entered := make(chan struct{})
	calls := 0
	c := NewTableCache(10, func(fileNum uint64) (*fakeTable, error) {
		calls++
		if calls == 1 {
			close(entered)
			<-gate
			panic("open exploded")
		}
		return &fakeTable{t: t, fs: newFakeFS(t), fileNum: fileNum}, nil
	})
	waiter := make(chan error)
	go func() {
		<-entered
		go func() { // waits on the panicking open
			_, err := c.Acquire(1)
			waiter <- err
		}()
		for c.Stats().Hits < 1 {
			time.Sleep(time.Millisecond)
		}
		close(gate)
	}()
	require.PanicsWithValue(t, "open exploded", func() { _, _ = c.Acquire(1) })
	err := <-waiter
	require.ErrorContains(t, err, "panicked")
	require.NoError(t, c.checkInvariants())
	require.Zero(t, c.Stats().Open)
	h := mustAcquire(t, c, 1)
	h.Release()
	require.NoError(t, c.Close())
}

func TestTableCacheCloseErrors(t *testing.T) {
	boom := errors.New("close failed")
	t.Run("recorded", func(t *testing.T) {
		fs := newFakeFS(t)
		fs.closeErr = boom
		c := NewTableCache(1, fs.openTable)
		for f := uint64(1); f <= 3; f++ { // 1 and 2 are closed by eviction
			h := mustAcquire(t, c, f)
			h.Release()
		}
		err := c.Close() // and 3 by Close
		require.ErrorIs(t, err, boom)
		for f := 1; f <= 3; f++ {
			require.ErrorContains(t, err, fmt.Sprintf("close table %06d", f))
		}
	})
	t.Run("callback", func(t *testing.T) {
		fs := newFakeFS(t)
		fs.closeErr = boom
		var reported []uint64
		c := NewTableCache(1, fs.openTable, OnCloseError(func(fileNum uint64, err error) {
			require.ErrorIs(t, err, boom)
			reported = append(reported, fileNum)
		}))
		for f := uint64(1); f <= 3; f++ {
			h := mustAcquire(t, c, f)
			h.Release()
		}
		held := mustAcquire(t, c, 4) // evicts 3
		require.Equal(t, []uint64{1, 2, 3}, reported)
		require.NoError(t, c.Close(), "errors went to the callback; 4 is still referenced")
		held.Release() // closed after Close: reported to the callback
		require.Equal(t, []uint64{1, 2, 3, 4}, reported)
	})
	t.Run("bounded", func(t *testing.T) {
		fs := newFakeFS(t)
		fs.closeErr = boom
		c := NewTableCache(0, fs.openTable)
		for f := uint64(1); f <= maxRecordedCloseErrors+5; f++ {
			h := mustAcquire(t, c, f)
			h.Release()
		}
		err := c.Close()
		require.ErrorIs(t, err, boom)
		require.ErrorContains(t, err, "5 more table close errors")
	})
}

func TestTableCacheDoubleReleasePanics(t *testing.T) {
	_, c := newFakeCache(t, 10)
	h := mustAcquire(t, c, 1)
	h.Release()
	require.PanicsWithValue(t, "sstable/cache: Handle.Release of table 000001 called more times than Acquire",
		h.Release)
	require.NoError(t, c.checkInvariants(), "the extra Release changed nothing")
	require.Equal(t, 1, c.Stats().Open)
	require.NoError(t, c.Close())
	require.Panics(t, h.Release, "a Release after the table was closed")
}

func TestTableCacheAcquireAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	_, c := newFakeCache(t, 100)
	for f := uint64(0); f < 50; f++ {
		h := mustAcquire(t, c, f)
		h.Release()
	}
	f := uint64(0)
	require.Zero(t, testing.AllocsPerRun(1000, func() {
		h, err := c.Acquire(f % 50)
		if err != nil {
			t.Fatal(err)
		}
		h.Release()
		f++
	}))
	require.NoError(t, c.Close())
}

// TestTableCacheRace runs a random workload of Acquire, use, Release and Evict from 8
// goroutines on a cache smaller than the file set, so tables are opened, evicted and closed
// under their holders constantly. Fake tables fail the test if used after Close; the cache's
// invariants, including open <= capacity + referenced, are checked as it runs. Run it with
// -race.
func TestTableCacheRace(t *testing.T) {
	const capacity, files = 4, 16
	fs, c := newFakeCache(t, capacity)
	ops := raceOps(20_000, 5_000)
	runRacers(t, func(rng *rand.Rand) {
		var held []*Handle[*fakeTable]
		for i := 0; i < ops; i++ {
			switch op := rng.IntN(10); {
			case op < 5 && len(held) < 3:
				f := rng.Uint64N(files)
				h, err := c.Acquire(f)
				if err != nil {
					t.Error(err)
					return
				}
				if h.Value().fileNum != f {
					t.Errorf("Acquire(%d) returned table %d", f, h.Value().fileNum)
					return
				}
				held = append(held, h)
			case op < 9 && len(held) > 0:
				j := rng.IntN(len(held))
				held[j].Value().use()
				held[j].Release()
				held = append(held[:j], held[j+1:]...)
			case op == 9:
				c.Evict(rng.Uint64N(files))
			}
			for _, h := range held {
				h.Value().use()
			}
			if i%100 == 0 {
				if err := c.checkInvariants(); err != nil {
					t.Error(err)
					return
				}
			}
		}
		for _, h := range held {
			h.Release()
		}
	})
	require.NoError(t, c.checkInvariants())
	st := c.Stats()
	require.LessOrEqual(t, st.Open, capacity, "nothing is referenced any more")
	require.Equal(t, int64(st.Open), fs.open.Load())
	require.Equal(t, st.Open, st.Cached)
	closeAllClosed(t, c, fs)
	require.Zero(t, c.Stats().Open)
}
