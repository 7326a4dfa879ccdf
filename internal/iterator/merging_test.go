package iterator_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/iterator"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/testutil/iterutil"
	"github.com/stratadb/strata/memtable"
)

func kv(pairs ...string) []iterutil.Entry {
	var out []iterutil.Entry
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, iterutil.Entry{Key: []byte(pairs[i]), Value: []byte(pairs[i+1])})
	}
	return out
}

// scan returns "key=value" for every entry forward from First, or backward from Last.
func scan(it iterator.Iterator, backward bool) []string {
	var out []string
	ok := it.First()
	if backward {
		ok = it.Last()
	}
	for ; ok; ok = map[bool]func() bool{false: it.Next, true: it.Prev}[backward]() {
		out = append(out, string(it.Key())+"="+string(it.Value()))
	}
	return out
}

func reversed(s []string) []string {
	s = slices.Clone(s)
	slices.Reverse(s)
	return s
}

func TestMergingNoChildren(t *testing.T) {
	m := iterator.NewMerging(bytes.Compare)
	require.False(t, m.First())
	require.False(t, m.Last())
	require.False(t, m.SeekGE([]byte("a")))
	require.False(t, m.SeekLT([]byte("a")))
	require.False(t, m.Valid())
	require.NoError(t, m.Error())
	require.NoError(t, m.Close())
}

func TestMergingOneChild(t *testing.T) {
	child := iterutil.NewSlice(bytes.Compare, kv("a", "1", "c", "3", "e", "5"))
	m := iterator.NewMerging(bytes.Compare, child)
	require.Equal(t, []string{"a=1", "c=3", "e=5"}, scan(m, false))
	require.Equal(t, []string{"e=5", "c=3", "a=1"}, scan(m, true))
	require.True(t, m.SeekGE([]byte("b")))
	require.Equal(t, "c", string(m.Key()))
	require.True(t, m.Prev())
	require.Equal(t, "a", string(m.Key()))
	require.True(t, m.Next())
	require.Equal(t, "c", string(m.Key()))
	require.NoError(t, m.Close())
	require.True(t, child.Closed())
}

// Equal keys in several children come back lower child index first forward, and in exactly
// the reverse order backward, however the direction changes.
func TestMergingDuplicates(t *testing.T) {
	children := func() []iterator.Iterator {
		return []iterator.Iterator{
			iterutil.NewSlice(bytes.Compare, kv("a", "a0", "b", "b0", "d", "d0")),
			iterutil.NewSlice(bytes.Compare, kv("b", "b1", "c", "c1", "d", "d1")),
			iterutil.NewSlice(bytes.Compare, nil),
			iterutil.NewSlice(bytes.Compare, kv("b", "b3", "d", "d3", "e", "e3")),
		}
	}
	m := iterator.NewMerging(bytes.Compare, children()...)
	want := []string{"a=a0", "b=b0", "b=b1", "b=b3", "c=c1", "d=d0", "d=d1", "d=d3", "e=e3"}
	require.Equal(t, want, scan(m, false))
	require.Equal(t, reversed(want), scan(m, true))

	cur := func() string { return string(m.Key()) + "=" + string(m.Value()) }
	require.True(t, m.SeekGE([]byte("b")))
	require.Equal(t, "b=b0", cur())
	require.True(t, m.Next())
	require.Equal(t, "b=b1", cur())
	require.True(t, m.Prev(), "switch to reverse in the middle of equal keys")
	require.Equal(t, "b=b0", cur())
	require.True(t, m.Next())
	require.Equal(t, "b=b1", cur())
	require.True(t, m.Next())
	require.Equal(t, "b=b3", cur())
	require.True(t, m.SeekLT([]byte("c")))
	require.Equal(t, "b=b3", cur())
	require.True(t, m.Prev())
	require.Equal(t, "b=b1", cur())
	require.True(t, m.Next(), "switch to forward in the middle of equal keys")
	require.Equal(t, "b=b3", cur())
	require.True(t, m.Prev())
	require.True(t, m.Prev())
	require.Equal(t, "b=b0", cur())
	require.True(t, m.Prev())
	require.Equal(t, "a=a0", cur())
	require.False(t, m.Prev())
	require.NoError(t, m.Error())
	require.NoError(t, m.Close())
}

// TestMergingRandom checks the merged order of random children, with many keys shared between
// children, against the sorted union under random moves with direction switches.
func TestMergingRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 0x6d65))
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

func TestMergingErrors(t *testing.T) {
	boom := errors.New("boom")
	build := func(failChild, failAt int) (iterator.Iterator, []*iterutil.Slice) {
		kids := []*iterutil.Slice{
			iterutil.NewSlice(bytes.Compare, kv("a", "", "c", "", "e", "", "g", "")),
			iterutil.NewSlice(bytes.Compare, kv("b", "", "d", "", "f", "", "h", "")),
		}
		kids[failChild].FailAt(failAt, boom)
		return iterator.NewMerging(bytes.Compare, kids[0], kids[1]), kids
	}

	t.Run("forward", func(t *testing.T) {
		m, kids := build(1, 2) // f
		var seen []string
		for ok := m.First(); ok; ok = m.Next() {
			seen = append(seen, string(m.Key()))
		}
		// Consuming d steps child 1 onto f, which fails: e is never reached.
		require.Equal(t, []string{"a", "b", "c", "d"}, seen)
		require.ErrorIs(t, m.Error(), boom)
		require.False(t, m.Valid())
		require.False(t, m.Next(), "Next on an invalid iterator stays invalid")

		require.True(t, m.First(), "a positioning call clears the error")
		require.NoError(t, m.Error())
		require.True(t, m.SeekLT([]byte("f")))
		require.Equal(t, "e", string(m.Key()))
		require.False(t, m.Next(), "the child that failed is stepped again")
		require.ErrorIs(t, m.Close(), boom)
		require.True(t, kids[0].Closed())
		require.True(t, kids[1].Closed())
	})
	t.Run("backward", func(t *testing.T) {
		m, _ := build(0, 1) // c
		require.True(t, m.Last())
		n := 1
		for m.Prev() {
			n++
		}
		require.Equal(t, 4, n, "h g f e; consuming e steps child 0 onto c, which fails")
		require.ErrorIs(t, m.Error(), boom)
	})
	t.Run("during a seek", func(t *testing.T) {
		m, _ := build(0, 2) // e
		require.False(t, m.SeekGE([]byte("d")))
		require.ErrorIs(t, m.Error(), boom)
		require.True(t, m.First())
		require.NoError(t, m.Error())
	})
	t.Run("while switching direction", func(t *testing.T) {
		m, _ := build(0, 1) // c: Prev from d repositions child 0 onto c
		require.True(t, m.SeekGE([]byte("d")))
		require.False(t, m.Prev())
		require.ErrorIs(t, m.Error(), boom)

		m, _ = build(1, 2) // f: Next from e after Prev repositions child 1 onto f
		require.True(t, m.SeekLT([]byte("f")))
		require.Equal(t, "e", string(m.Key()))
		require.False(t, m.Next())
		require.ErrorIs(t, m.Error(), boom)
	})
	t.Run("close error", func(t *testing.T) {
		m, _ := build(1, 0)
		require.False(t, m.First())
		require.True(t, m.SeekGE([]byte("c")), "child 1 lands on d, not on b")
		require.NoError(t, m.Error())
		require.NoError(t, m.Close(), "the children's current state has no error")
	})
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
	m := iterator.NewMerging(bytes.Compare, its...)
	m.First()
	require.Zero(t, testing.AllocsPerRun(1000, func() {
		if !m.Next() {
			m.First()
		}
	}), "Next")
	m.Last()
	require.Zero(t, testing.AllocsPerRun(1000, func() {
		if !m.Prev() {
			m.Last()
		}
	}), "Prev")
	rng := rand.New(rand.NewPCG(1, 1))
	require.Zero(t, testing.AllocsPerRun(1000, func() {
		var ok bool
		if rng.IntN(2) == 0 {
			ok = m.Next()
		} else {
			ok = m.Prev()
		}
		if !ok {
			m.SeekGE([]byte("k0200"))
		}
	}), "Next and Prev mixed")
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
