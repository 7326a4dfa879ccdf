package cache

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// sstableBlockCache is sstable.BlockCache's method set, repeated here so that this package's
// tests do not depend on sstable; *BlockCache must satisfy it.
type sstableBlockCache interface {
	Get(fileNum, offset uint64) ([]byte, bool)
	Set(fileNum, offset uint64, block []byte)
}

var _ sstableBlockCache = (*BlockCache)(nil)

// blockOf returns a block of n bytes (n >= 16) whose first 16 bytes name its key, so a test
// can tell whether Get returned the block of the key it asked for.
func blockOf(fileNum, offset uint64, n int) []byte {
	b := make([]byte, n)
	binary.LittleEndian.PutUint64(b, fileNum)
	binary.LittleEndian.PutUint64(b[8:], offset)
	return b
}

// checkBlockCache verifies each shard's bookkeeping: its size is the sum of its entries'
// charges and within its capacity, the LRU list and the per-file chains hold exactly the
// entries of the map, and the shard capacities add up to the cache's.
func checkBlockCache(t *testing.T, c *BlockCache) {
	t.Helper()
	total := 0
	for i := range c.shards {
		s := &c.shards[i]
		total += s.capacity
		s.mu.Lock()
		size, n := 0, 0
		for e := s.mu.lru.next; e != &s.mu.lru; e = e.next {
			require.Same(t, e, e.next.prev, "shard %d: broken LRU links", i)
			require.Same(t, e, s.mu.entries[e.key], "shard %d: LRU entry not in map", i)
			size += e.charge()
			n++
		}
		require.Equal(t, len(s.mu.entries), n, "shard %d: LRU length", i)
		require.Equal(t, size, s.mu.size, "shard %d: size", i)
		require.LessOrEqual(t, s.mu.size, s.capacity, "shard %d: over budget", i)
		n = 0
		for fileNum, head := range s.mu.files {
			require.Nil(t, head.filePrev, "shard %d: file %d: head has a predecessor", i, fileNum)
			for e := head; e != nil; e = e.fileNext {
				require.Equal(t, fileNum, e.key.fileNum, "shard %d: entry in the wrong file chain", i)
				require.Same(t, e, s.mu.entries[e.key], "shard %d: file chain entry not in map", i)
				if e.fileNext != nil {
					require.Same(t, e, e.fileNext.filePrev, "shard %d: broken file links", i)
				}
				n++
			}
		}
		require.Equal(t, len(s.mu.entries), n, "shard %d: file chains' length", i)
		require.LessOrEqual(t, s.mu.nfree, maxFreeEntries)
		s.mu.Unlock()
	}
	require.Equal(t, c.capacity, total, "shard capacities must add up to the capacity")
}

// chargeOf is what a cache charges for a block of n bytes.
func chargeOf(n int) int { return n + EntryOverhead }

func TestBlockCacheHitMiss(t *testing.T) {
	c := NewBlockCache(1 << 20)
	_, ok := c.Get(1, 0)
	require.False(t, ok)
	c.Set(1, 0, blockOf(1, 0, 100))
	b, ok := c.Get(1, 0)
	require.True(t, ok)
	require.Equal(t, blockOf(1, 0, 100), b)
	_, ok = c.Get(1, 100) // same file, other offset
	require.False(t, ok)
	_, ok = c.Get(2, 0) // other file, same offset
	require.False(t, ok)
	checkBlockCache(t, c)
}

func TestBlockCacheReturnsTheSameSlice(t *testing.T) {
	c := NewBlockCache(1 << 20)
	blk := blockOf(3, 4, 64)
	c.Set(3, 4, blk)
	b, ok := c.Get(3, 4)
	require.True(t, ok)
	require.Same(t, &blk[0], &b[0], "the cache stores the caller's block, not a copy")
}

func TestBlockCacheLRUOrder(t *testing.T) {
	const n = 100
	c := newBlockCache(3*chargeOf(n), 1) // room for exactly three blocks
	c.Set(1, 0, blockOf(1, 0, n))
	c.Set(1, 1, blockOf(1, 1, n))
	c.Set(1, 2, blockOf(1, 2, n))
	_, ok := c.Get(1, 0) // 0 becomes the most recent; 1 is now the least recent
	require.True(t, ok)
	c.Set(1, 3, blockOf(1, 3, n))
	_, ok = c.Get(1, 1)
	require.False(t, ok, "the least recently used block is evicted")
	for _, off := range []uint64{0, 2, 3} {
		_, ok = c.Get(1, off)
		require.True(t, ok, "offset %d", off)
	}
	// Order is now 3, 2, 0 (most recent first); a Set of an existing key counts as a use.
	c.Set(1, 0, blockOf(1, 0, n))
	c.Set(1, 4, blockOf(1, 4, n))
	_, ok = c.Get(1, 2)
	require.False(t, ok)
	// A block twice the size evicts the two least recent: 3 then 0, leaving 4 and itself.
	c.Set(1, 5, blockOf(1, 5, 2*n+EntryOverhead))
	for off, want := range []bool{false, false, false, false, true, true} {
		_, ok = c.Get(1, uint64(off))
		require.Equal(t, want, ok, "offset %d", off)
	}
	st := c.Stats()
	require.Equal(t, uint64(4), st.Evictions)
	require.Equal(t, 2, st.Entries)
	checkBlockCache(t, c)
}

// TestBlockCacheModel runs random Gets, Sets and EvictFiles against a one-shard cache and a
// plain list kept in LRU order, and checks every Get and the byte budget after each step.
func TestBlockCacheModel(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	capacity := 20 * chargeOf(500)
	c := newBlockCache(capacity, 1)
	type item struct {
		k blockKey
		n int // block length
	}
	var model []item // most recent first
	find := func(k blockKey) int {
		return slices.IndexFunc(model, func(it item) bool { return it.k == k })
	}
	size := func() int {
		s := 0
		for _, it := range model {
			s += chargeOf(it.n)
		}
		return s
	}
	var evictions uint64
	for step := 0; step < 20_000; step++ {
		k := blockKey{rng.Uint64N(4), rng.Uint64N(16)}
		switch op := rng.IntN(10); {
		case op < 5:
			b, ok := c.Get(k.fileNum, k.offset)
			i := find(k)
			require.Equal(t, i >= 0, ok, "step %d: Get%v", step, k)
			if ok {
				require.Equal(t, blockOf(k.fileNum, k.offset, model[i].n), b, "step %d", step)
				it := model[i]
				model = append([]item{it}, slices.Delete(model, i, i+1)...)
			}
		case op < 9:
			n := 16 + rng.IntN(2000)
			if rng.IntN(50) == 0 {
				n = capacity // too big to cache
			}
			c.Set(k.fileNum, k.offset, blockOf(k.fileNum, k.offset, n))
			if i := find(k); i >= 0 {
				model = slices.Delete(model, i, i+1)
			}
			if chargeOf(n) <= capacity {
				model = append([]item{{k, n}}, model...)
				for size() > capacity {
					model = model[:len(model)-1]
					evictions++
				}
			}
		default:
			c.EvictFile(k.fileNum)
			model = slices.DeleteFunc(model, func(it item) bool { return it.k.fileNum == k.fileNum })
		}
		st := c.Stats()
		require.LessOrEqual(t, st.Size, st.Capacity, "step %d", step)
		require.Equal(t, size(), st.Size, "step %d", step)
		require.Equal(t, len(model), st.Entries, "step %d", step)
		require.Equal(t, evictions, st.Evictions, "step %d", step)
	}
	checkBlockCache(t, c)
}

// TestBlockCacheByteBudget fills a sharded cache with blocks of random sizes and checks after
// every Set that no shard and so not the cache is over budget.
func TestBlockCacheByteBudget(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	c := NewBlockCache(1 << 20)
	require.Len(t, c.shards, 16)
	for i := 0; i < 5000; i++ {
		f, off := rng.Uint64N(8), rng.Uint64N(512)
		c.Set(f, off, blockOf(f, off, 16+rng.IntN(16<<10)))
		st := c.Stats()
		require.LessOrEqual(t, st.Size, st.Capacity, "after Set %d", i)
		for j := range c.shards {
			s := &c.shards[j]
			s.mu.Lock()
			over := s.mu.size > s.capacity
			s.mu.Unlock()
			require.False(t, over, "shard %d over budget after Set %d", j, i)
		}
		if i%500 == 0 {
			checkBlockCache(t, c)
		}
	}
	st := c.Stats()
	require.Greater(t, st.Evictions, uint64(0))
	require.Greater(t, st.Size, st.Capacity/2, "a full cache should be mostly used")
	checkBlockCache(t, c)
}

func TestBlockCacheReplace(t *testing.T) {
	c := newBlockCache(4*chargeOf(100), 1)
	c.Set(1, 0, blockOf(1, 0, 100))
	c.Set(1, 1, blockOf(1, 1, 100))
	c.Set(1, 0, blockOf(1, 0, 50))
	b, ok := c.Get(1, 0)
	require.True(t, ok)
	require.Len(t, b, 50)
	st := c.Stats()
	require.Equal(t, 2, st.Entries)
	require.Equal(t, chargeOf(100)+chargeOf(50), st.Size)
	require.Equal(t, uint64(3), st.Inserts)
	require.Zero(t, st.Evictions)

	// Growing the replaced block past the budget evicts others, never the block itself.
	c.Set(1, 2, blockOf(1, 2, 100))
	c.Set(1, 0, blockOf(1, 0, 4*100+3*EntryOverhead))
	b, ok = c.Get(1, 0)
	require.True(t, ok)
	require.Len(t, b, 4*100+3*EntryOverhead)
	for _, off := range []uint64{1, 2} {
		_, ok = c.Get(1, off)
		require.False(t, ok, "offset %d", off)
	}
	st = c.Stats()
	require.Equal(t, 1, st.Entries)
	require.Equal(t, st.Capacity, st.Size)
	require.Equal(t, uint64(2), st.Evictions)
	checkBlockCache(t, c)
}

func TestBlockCacheOversizeNotCached(t *testing.T) {
	c := newBlockCache(1000, 1)
	c.Set(1, 0, make([]byte, 1000-EntryOverhead)) // exactly fits
	_, ok := c.Get(1, 0)
	require.True(t, ok)
	c.Set(2, 0, make([]byte, 1000-EntryOverhead+1)) // one byte too many
	_, ok = c.Get(2, 0)
	require.False(t, ok)
	_, ok = c.Get(1, 0)
	require.True(t, ok, "an oversize Set must not evict anything")
	// An oversize replacement drops the old block, so Get never serves a replaced block.
	c.Set(1, 0, make([]byte, 5000))
	_, ok = c.Get(1, 0)
	require.False(t, ok)
	st := c.Stats()
	require.Zero(t, st.Entries)
	require.Zero(t, st.Size)
	require.Equal(t, uint64(1), st.Inserts)

	// In a sharded cache the limit is a shard's share, not the whole capacity.
	sc := NewBlockCache(16 << 20)
	require.Len(t, sc.shards, 16)
	sc.Set(1, 0, make([]byte, 2<<20))
	_, ok = sc.Get(1, 0)
	require.False(t, ok)
	checkBlockCache(t, c)
	checkBlockCache(t, sc)
}

func TestBlockCacheEvictFile(t *testing.T) {
	c := NewBlockCache(8 << 20)
	for f := uint64(1); f <= 3; f++ {
		for off := uint64(0); off < 100; off++ {
			c.Set(f, off*4096, blockOf(f, off*4096, 256))
		}
	}
	require.Equal(t, 300, c.Stats().Entries)
	c.EvictFile(2)
	c.EvictFile(99) // unknown: no-op
	for f := uint64(1); f <= 3; f++ {
		for off := uint64(0); off < 100; off++ {
			_, ok := c.Get(f, off*4096)
			require.Equal(t, f != 2, ok, "file %d offset %d", f, off*4096)
		}
	}
	st := c.Stats()
	require.Equal(t, 200, st.Entries)
	require.Equal(t, 200*chargeOf(256), st.Size)
	require.Zero(t, st.Evictions, "EvictFile is not counted as eviction")
	checkBlockCache(t, c)
	// The file's blocks can be cached again afterwards.
	c.Set(2, 0, blockOf(2, 0, 256))
	_, ok := c.Get(2, 0)
	require.True(t, ok)
	checkBlockCache(t, c)
}

func TestBlockCacheStats(t *testing.T) {
	c := newBlockCache(2*chargeOf(10), 1)
	c.Get(1, 0)      // miss
	c.Set(1, 0, nil) // insert (an empty block is still a block)
	c.Get(1, 0)      // hit
	c.Set(1, 1, nil) // insert
	c.Set(1, 2, nil) // insert, evicts (1,0)
	c.Get(1, 0)      // miss
	c.Get(1, 2)      // hit
	c.Set(1, 2, nil) // insert (replacement)
	c.Set(1, 9, nil) // insert, evicts (1,1)
	c.EvictFile(1)   // drops both, not counted as evictions
	require.Equal(t, BlockCacheStats{
		Hits: 2, Misses: 2, Inserts: 5, Evictions: 2, Size: 0, Capacity: 2 * chargeOf(10), Entries: 0,
	}, c.Stats())
}

func TestBlockCacheCapacityZero(t *testing.T) {
	for _, capacity := range []int{0, -1, EntryOverhead - 1} {
		t.Run(fmt.Sprintf("capacity=%d", capacity), func(t *testing.T) {
			c := NewBlockCache(capacity)
			c.Set(1, 0, nil)
			c.Set(1, 1, []byte("x"))
			_, ok := c.Get(1, 0)
			require.False(t, ok)
			_, ok = c.Get(1, 1)
			require.False(t, ok)
			c.EvictFile(1)
			st := c.Stats()
			require.Equal(t, uint64(2), st.Misses)
			require.Zero(t, st.Hits)
			require.Zero(t, st.Inserts)
			require.Zero(t, st.Entries)
			require.Zero(t, st.Size)
			require.Equal(t, max(capacity, 0), st.Capacity)
			checkBlockCache(t, c)
		})
	}
}

func TestBlockCacheShardCount(t *testing.T) {
	minShard := minShardBlocks * (typicalBlock + EntryOverhead)
	for _, tc := range []struct{ capacity, shards int }{
		{0, 1},
		{64 << 10, 1},
		{2*minShard - 1, 1},
		{2 * minShard, 2},
		{8 * minShard, 8},
		{16*minShard - 1, 8},
		{16 * minShard, 16},
		{8 << 20, 16},
		{math.MaxInt, 16},
	} {
		require.Equal(t, tc.shards, shardCount(tc.capacity), "capacity %d", tc.capacity)
		require.Len(t, NewBlockCache(tc.capacity).shards, tc.shards)
	}
	require.Panics(t, func() { newBlockCache(100, 3) })
}

// TestEntryOverheadCoversEntry keeps EntryOverhead honest: it must cover the entry as the
// allocator rounds it plus a map slot of key and pointer.
func TestEntryOverheadCoversEntry(t *testing.T) {
	entry := int(unsafe.Sizeof(blockEntry{}))
	entry = (entry + 15) &^ 15 // size classes are multiples of 16 in this range
	slot := int(unsafe.Sizeof(blockKey{})) + int(unsafe.Sizeof(uintptr(0))) + 1
	require.LessOrEqual(t, entry+slot, EntryOverhead)
}

func TestBlockCacheGetAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	c := NewBlockCache(8 << 20)
	blk := make([]byte, 4096)
	for i := uint64(0); i < 1000; i++ {
		c.Set(i%7, i*4096, blk)
	}
	i := uint64(0)
	require.Zero(t, testing.AllocsPerRun(1000, func() {
		if _, ok := c.Get(i%7, i*4096); !ok {
			t.Fatal("miss")
		}
		i = (i + 1) % 1000
	}), "Get hit")
	require.Zero(t, testing.AllocsPerRun(1000, func() { c.Get(99, i) }), "Get miss")
	require.Zero(t, testing.AllocsPerRun(1000, func() {
		c.Set(i%7, i*4096, blk)
		i = (i + 1) % 1000
	}), "Set replacing")
	// Steady state: every Set evicts about one block; entries are recycled.
	small := NewBlockCache(256 << 10)
	n := uint64(0)
	for ; n < 1000; n++ {
		small.Set(n%5, n*4096, blk)
	}
	require.Zero(t, testing.AllocsPerRun(5000, func() {
		small.Set(n%5, n*4096, blk)
		n++
	}), "Set with eviction")
}

// racers is how many goroutines the race tests run at once.
const racers = 8

// runRacers runs body on racers goroutines at once, each with its own random stream of one
// seed, and waits for them. It logs the seed and returns it, so that a failure can be replayed
// (goroutine g's stream is rand.NewPCG(seed, g)).
func runRacers(t *testing.T, body func(rng *rand.Rand)) uint64 {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	var wg sync.WaitGroup
	for g := 0; g < racers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			body(rand.New(rand.NewPCG(seed, uint64(g))))
		}(g)
	}
	wg.Wait()
	return seed
}

// raceOps is how many operations each racer runs: full, or reduced under -short or -race.
func raceOps(full, reduced int) int {
	if testing.Short() || raceEnabled {
		return reduced
	}
	return full
}

// TestBlockCacheRace runs Get, Set and EvictFile from 8 goroutines on a cache small enough to
// evict constantly. Every block names its key, so a Get that returned another key's block, or
// a torn one, is caught. Run it with -race.
func TestBlockCacheRace(t *testing.T) {
	c := NewBlockCache(600 << 10)
	require.Greater(t, len(c.shards), 1)
	ops := raceOps(50_000, 10_000)
	seed := runRacers(t, func(rng *rand.Rand) {
		for i := 0; i < ops; i++ {
			f, off := rng.Uint64N(6), rng.Uint64N(64)*4096
			switch op := rng.IntN(100); {
			case op < 60:
				if b, ok := c.Get(f, off); ok {
					if binary.LittleEndian.Uint64(b) != f || binary.LittleEndian.Uint64(b[8:]) != off {
						t.Errorf("Get(%d, %d) returned the block of (%d, %d)", f, off,
							binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:]))
						return
					}
				}
			case op < 99:
				c.Set(f, off, blockOf(f, off, 16+rng.IntN(8192)))
			default:
				c.EvictFile(f)
			}
			if i%1000 == 0 {
				if st := c.Stats(); st.Size > st.Capacity {
					t.Errorf("size %d over capacity %d", st.Size, st.Capacity)
					return
				}
			}
		}
	})
	st := c.Stats()
	require.LessOrEqual(t, st.Size, st.Capacity)
	require.Equal(t, uint64(racers*ops), st.Hits+st.Misses+st.Inserts+countEvictFiles(seed, ops))
	checkBlockCache(t, c)
}

// countEvictFiles replays the race test's random streams to count its EvictFile calls, so
// that the test can check that every Get was counted once as a hit or a miss and every Set
// once as an insert (no Set in that test is oversize).
func countEvictFiles(seed uint64, ops int) uint64 {
	var n uint64
	for g := 0; g < racers; g++ {
		rng := rand.New(rand.NewPCG(seed, uint64(g)))
		for i := 0; i < ops; i++ {
			rng.Uint64N(6)
			rng.Uint64N(64)
			switch op := rng.IntN(100); {
			case op < 60:
			case op < 99:
				rng.IntN(8192)
			default:
				n++
			}
		}
	}
	return n
}
