package cache

import (
	"math/rand/v2"
	"testing"
)

// nopTable is a table whose Close does nothing, for benchmarks.
type nopTable struct{}

func (nopTable) Close() error { return nil }

// BenchmarkBlockCache measures the block cache's operations on 4 KiB blocks in a cache of
// the default 8 MiB (16 shards):
//   - op=get: a hit, from one goroutine;
//   - op=get-parallel: hits from GOMAXPROCS goroutines at once (shard contention);
//   - op=set: inserts of new keys into a full cache, each evicting a block (steady state).
func BenchmarkBlockCache(b *testing.B) {
	const capacity, blockSize = 8 << 20, 4096
	// 1,500 blocks of 4 KiB fit in 8 MiB with room to spare, in every shard.
	const cached = 1500
	blk := make([]byte, blockSize)
	fill := func() (*BlockCache, []blockKey) {
		c := NewBlockCache(capacity)
		keys := make([]blockKey, cached)
		rng := rand.New(rand.NewPCG(1, 1))
		for i := range keys {
			keys[i] = blockKey{rng.Uint64N(64), uint64(i) * blockSize}
			c.Set(keys[i].fileNum, keys[i].offset, blk)
		}
		if c.Stats().Entries != cached {
			b.Fatalf("only %d of %d blocks cached", c.Stats().Entries, cached)
		}
		return c, keys
	}

	b.Run("op=get", func(b *testing.B) {
		c, keys := fill()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			k := keys[i%cached]
			if _, ok := c.Get(k.fileNum, k.offset); !ok {
				b.Fatal("miss")
			}
		}
	})
	b.Run("op=get-parallel", func(b *testing.B) {
		c, keys := fill()
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := rand.IntN(cached)
			for pb.Next() {
				k := keys[i%cached]
				if _, ok := c.Get(k.fileNum, k.offset); !ok {
					b.Error("miss")
					return
				}
				i++
			}
		})
	})
	b.Run("op=set", func(b *testing.B) {
		c, _ := fill()
		b.ReportAllocs()
		b.SetBytes(blockSize)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			c.Set(uint64(100+i%64), uint64(i)*blockSize, blk)
		}
	})
}

// BenchmarkTableCache measures an Acquire and Release of a cached table, from one goroutine
// and from GOMAXPROCS goroutines at once (the cache has one lock).
func BenchmarkTableCache(b *testing.B) {
	const files = 100
	fill := func() *TableCache[nopTable] {
		c := NewTableCache(files, func(uint64) (nopTable, error) { return nopTable{}, nil })
		for f := uint64(0); f < files; f++ {
			h, err := c.Acquire(f)
			if err != nil {
				b.Fatal(err)
			}
			h.Release()
		}
		return c
	}
	b.Run("op=acquire-release", func(b *testing.B) {
		c := fill()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			h, err := c.Acquire(uint64(i % files))
			if err != nil {
				b.Fatal(err)
			}
			h.Release()
		}
	})
	b.Run("op=acquire-release-parallel", func(b *testing.B) {
		c := fill()
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := rand.IntN(files)
			for pb.Next() {
				h, err := c.Acquire(uint64(i % files))
				if err != nil {
					b.Error(err)
					return
				}
				h.Release()
				i++
			}
		})
	})
}
