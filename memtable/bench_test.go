package memtable

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/testutil/workload"
)

// BenchmarkAdd measures Add of random 16-byte keys with 100-byte values while filling a table
// from empty to entries; the timer stops while a fresh table is made.
func BenchmarkAdd(b *testing.B) {
	value := make([]byte, 100)
	for _, n := range workload.BenchSizes {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			ks := workload.RandomKeys(n, 1)
			var m *MemTable
			b.ReportAllocs()
			b.SetBytes(16 + 100)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				j := i % n
				if j == 0 {
					b.StopTimer()
					m = New(keys.Bytewise, n*EntrySize(16, 100))
					b.StartTimer()
				}
				if err := m.Add(keys.SeqNum(i+1), keys.KindSet, ks[j], value); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGet measures Get of present keys, in random order, from a table of entries.
func BenchmarkGet(b *testing.B) {
	value := make([]byte, 100)
	for _, n := range workload.BenchSizes {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			ks := workload.RandomKeys(n, 1)
			m := New(keys.Bytewise, n*EntrySize(16, 100))
			for i, k := range ks {
				if err := m.Add(keys.SeqNum(i+1), keys.KindSet, k, value); err != nil {
					b.Fatal(err)
				}
			}
			rng := rand.New(rand.NewPCG(2, 2))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, res := m.Get(ks[rng.IntN(n)], keys.MaxSeqNum); res != Found {
					b.Fatal("missing key")
				}
			}
		})
	}
}
