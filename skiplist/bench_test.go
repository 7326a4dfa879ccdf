package skiplist

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stratadb/strata/internal/testutil/workload"
)

func newBenchList(n int) *List {
	return New(NewArena(n*EntrySize(16, 100)), nil)
}

// BenchmarkAdd measures inserts of random 16-byte keys with 100-byte values while filling a list
// from empty to entries; the timer stops while a fresh list is made.
func BenchmarkAdd(b *testing.B) {
	value := make([]byte, 100)
	for _, n := range workload.BenchSizes {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			ks := workload.RandomKeys(n, 1)
			var l *List
			b.ReportAllocs()
			b.SetBytes(16 + 100)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				j := i % n
				if j == 0 {
					b.StopTimer()
					l = newBenchList(n)
					b.StartTimer()
				}
				if err := l.Add(ks[j], 0, value); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSeekGE measures lookups of present keys, in random order, in a list of entries.
func BenchmarkSeekGE(b *testing.B) {
	value := make([]byte, 100)
	for _, n := range workload.BenchSizes {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			ks := workload.RandomKeys(n, 1)
			l := newBenchList(n)
			for _, k := range ks {
				if err := l.Add(k, 0, value); err != nil {
					b.Fatal(err)
				}
			}
			rng := rand.New(rand.NewPCG(2, 2))
			var it Iterator
			it.Init(l)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if !it.SeekGE(ks[rng.IntN(n)], 0) {
					b.Fatal("missing key")
				}
			}
		})
	}
}

// BenchmarkScan measures a full forward and a full backward iteration step.
func BenchmarkScan(b *testing.B) {
	const n = 30_000
	l := newBenchList(n)
	for _, k := range workload.RandomKeys(n, 1) {
		if err := l.Add(k, 0, make([]byte, 100)); err != nil {
			b.Fatal(err)
		}
	}
	for _, dir := range []string{"forward", "backward"} {
		b.Run("dir="+dir, func(b *testing.B) {
			it := l.NewIterator()
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if !it.Valid() {
					if dir == "forward" {
						it.First()
					} else {
						it.Last()
					}
					continue
				}
				if dir == "forward" {
					it.Next()
				} else {
					it.Prev()
				}
			}
		})
	}
}
