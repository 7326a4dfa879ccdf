package iterator_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/iterator"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/testutil/iterutil"
	"github.com/stratadb/strata/internal/testutil/testseed"
	"github.com/stratadb/strata/memtable"
)

// TestMergingRandom checks the merged order of random children, with many keys shared between
// children, against the sorted union under random moves with direction switches.
func TestMergingRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 0x6d65))
	for round := 0; round < iters(200); round++ {
		n := rng.IntN(7)
		universe := rng.IntN(60) + 1
		var model []iterutil.Entry
		its := make([]iterator.Iterator, n)
		for c := 0; c < n; c++ {
			var es []iterutil.Entry
			density := rng.Float64()
			for k := 0; k < universe; k++ {
				if rng.Float64() < density {
					key := []byte(fmt.Sprintf("k%03d", k))
					es = append(es, iterutil.Entry{Key: key, Value: []byte(fmt.Sprintf("%s@%d", key, c))})
				}
			}
			its[c] = iterutil.NewSlice(bytes.Compare, es)
			model = append(model, es...)
		}
		// Stable: equal keys keep child order.
		slices.SortStableFunc(model, func(a, b iterutil.Entry) int { return bytes.Compare(a.Key, b.Key) })
		m := iterator.NewMerging(bytes.Compare, its...)
		iterutil.CheckAgainstModel(t, m, &iterutil.Model{Cmp: bytes.Compare, Entries: model}, rng, 300)
		require.NoError(t, m.Close())
	}
}

func TestMergingAllocs(t *testing.T) {
	var its []iterator.Iterator
	for c := 0; c < 4; c++ {
		var es []iterutil.Entry
		for i := 0; i < 100; i++ {
			es = append(es, iterutil.Entry{Key: []byte(fmt.Sprintf("k%04d", 4*i+c%3)), Value: []byte("v")})
		}
		its = append(its, iterutil.NewSlice(bytes.Compare, es))
	}
	requireStepsAllocFree(t, iterator.NewMerging(bytes.Compare, its...), 1000, 1, []byte("k0200"))
}

// newMemtables fills n memtables with entries i = 0..perTable-1 of every table: user key
// fmt "%016d" of i*n+t, one SET each, so the merged stream interleaves all tables.
func newMemtables(tb testing.TB, n, perTable int, value []byte) []*memtable.MemTable {
	var mts []*memtable.MemTable
	for t := 0; t < n; t++ {
		mt := memtable.New(keys.Bytewise, perTable*(memtable.EntrySize(16, len(value))+64))
		for i := 0; i < perTable; i++ {
			k := []byte(fmt.Sprintf("%016d", i*n+t))
			require.NoError(tb, mt.Add(keys.SeqNum(i*n+t+1), keys.KindSet, k, value))
		}
		mts = append(mts, mt)
	}
	return mts
}

func BenchmarkMergingNext(b *testing.B) {
	const children, perChild = 4, 100_000
	mts := newMemtables(b, children, perChild, []byte("value-0123456789"))
	var its []iterator.Iterator
	for _, mt := range mts {
		its = append(its, mt.NewIterator())
	}
	m := iterator.NewMerging(icmp.Compare, its...)
	b.ReportAllocs()
	b.ResetTimer()
	m.First()
	for i := 0; i < b.N; i++ {
		if !m.Next() {
			m.First()
		}
	}
}
