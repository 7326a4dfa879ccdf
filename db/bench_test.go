package db

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

// Benchmarks of the DB on the real filesystem, with 16-byte keys and 100-byte values (half of
// each value compressible, as db_bench's). Run with -benchmem; ns/op is per operation.

func benchKey(dst []byte, k uint64) []byte {
	return fmt.Appendf(dst[:0], "%016d", k)
}

func benchValue(rng *rand.Rand) []byte {
	v := make([]byte, 100)
	for i := 0; i < 50; i++ {
		v[i] = byte(' ' + rng.IntN(95))
	}
	copy(v[50:], v[:50])
	return v
}

func openBench(b *testing.B) *DB {
	b.Helper()
	d, err := Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return d
}

// BenchmarkPut writes b.N entries without sync, with sequential or random keys.
func BenchmarkPut(b *testing.B) {
	for _, order := range []string{"sequential", "random"} {
		b.Run("order="+order, func(b *testing.B) {
			d := openBench(b)
			rng := rand.New(rand.NewPCG(1, 1))
			value := benchValue(rng)
			key := make([]byte, 0, 16)
			b.SetBytes(16 + 100)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k := uint64(i)
				if order == "random" {
					k = rng.Uint64N(uint64(max(b.N, 1)))
				}
				key = benchKey(key, k)
				if err := d.Put(key, value, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPutSync writes synced entries from 1 and from 8 goroutines: group commit lets one
// fsync cover the writes of many goroutines, so 8 goroutines reach many more writes per second.
func BenchmarkPutSync(b *testing.B) {
	for _, g := range []int{1, 8} {
		b.Run(fmt.Sprintf("goroutines=%d", g), func(b *testing.B) {
			d := openBench(b)
			value := benchValue(rand.New(rand.NewPCG(2, 2)))
			wo := &WriteOptions{Sync: true}
			var next sync.Mutex
			n := 0
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := 0; w < g; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					key := make([]byte, 0, 16)
					for {
						next.Lock()
						i := n
						n++
						next.Unlock()
						if i >= b.N {
							return
						}
						key = benchKey(key, uint64(i))
						if err := d.Put(key, value, wo); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
		})
	}
}

// fillBench writes n sequential entries, and with flush waits until they are all in tables.
func fillBench(b *testing.B, d *DB, n int, flush bool) {
	b.Helper()
	value := benchValue(rand.New(rand.NewPCG(3, 3)))
	var batch Batch
	key := make([]byte, 0, 16)
	for i := 0; i < n; i++ {
		key = benchKey(key, uint64(i))
		batch.Put(key, value)
		if batch.Len() == 1000 || i == n-1 {
			if err := d.Write(&batch, nil); err != nil {
				b.Fatal(err)
			}
			batch.Reset()
		}
	}
	if flush {
		if err := d.CompactRange(nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGet reads random present keys from a DB whose data is all in the memtable, or all
// in tables (flushed and compacted).
func BenchmarkGet(b *testing.B) {
	for _, where := range []string{"memtable", "tables"} {
		b.Run("data="+where, func(b *testing.B) {
			d := openBench(b)
			n := 20000 // fits the default 4 MiB memtable
			if where == "tables" {
				n = 200000
			}
			fillBench(b, d, n, where == "tables")
			rng := rand.New(rand.NewPCG(4, 4))
			key := make([]byte, 0, 16)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				key = benchKey(key, rng.Uint64N(uint64(n)))
				if _, err := d.Get(key, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScan iterates a flushed DB from first to last; ns/op is per entry.
func BenchmarkScan(b *testing.B) {
	d := openBench(b)
	const n = 200000
	fillBench(b, d, n, true)
	b.ReportAllocs()
	b.SetBytes(16 + 100)
	b.ResetTimer()
	var it *Iterator
	for i := 0; i < b.N; i++ {
		if it == nil || !it.Next() {
			if it != nil {
				if err := it.Close(); err != nil {
					b.Fatal(err)
				}
			}
			it = d.NewIterator(nil)
			if !it.First() {
				b.Fatal("empty DB")
			}
		}
	}
	if it != nil {
		it.Close()
	}
}

// BenchmarkTxn compares a transaction that reads two random keys and writes both with a plain
// batch of two puts of random keys, on a DB of 100,000 keys.
func BenchmarkTxn(b *testing.B) {
	const n = 100_000
	for _, kind := range []string{"batch2", "txn"} {
		b.Run("kind="+kind, func(b *testing.B) {
			d := openBench(b)
			rng := rand.New(rand.NewPCG(1, 2))
			value := benchValue(rng)
			var k1, k2 []byte
			for i := uint64(0); i < n; i++ {
				k1 = benchKey(k1, i)
				if err := d.Put(k1, value, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			var batch Batch
			for i := 0; i < b.N; i++ {
				k1, k2 = benchKey(k1, rng.Uint64N(n)), benchKey(k2, rng.Uint64N(n))
				if kind == "batch2" {
					batch.Reset()
					batch.Put(k1, value)
					batch.Put(k2, value)
					if err := d.Write(&batch, nil); err != nil {
						b.Fatal(err)
					}
					continue
				}
				err := d.Update(func(tx *Transaction) error {
					for _, k := range [][]byte{k1, k2} {
						if _, err := tx.Get(k); err != nil {
							return err
						}
						if err := tx.Put(k, value); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
