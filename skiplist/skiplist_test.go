package skiplist

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

type entry struct {
	key   string
	tag   uint64
	value string
}

// less is the order the list promises: key ascending, then tag descending.
func less(a, b entry) bool {
	if a.key != b.key {
		return a.key < b.key
	}
	return a.tag > b.tag
}

// collect walks l from First with Next, or from Last with Prev when backward is set.
func collect(l *List, backward bool) []entry {
	var out []entry
	it := l.NewIterator()
	first, next := it.First, it.Next
	if backward {
		first, next = it.Last, it.Prev
	}
	for ok := first(); ok; ok = next() {
		out = append(out, entry{string(it.Key()), it.Tag(), string(it.Value())})
	}
	return out
}

func TestEmpty(t *testing.T) {
	l := New(NewArena(0), nil)
	it := l.NewIterator()
	require.False(t, it.First())
	require.False(t, it.Last())
	require.False(t, it.SeekGE([]byte("a"), 0))
	require.False(t, it.SeekLT([]byte("a"), 0))
	require.False(t, l.Contains(nil, 0))
	require.Equal(t, 0, l.Len())
}

func TestOrderAndTags(t *testing.T) {
	l := New(NewArena(1<<16), nil)
	in := []entry{
		{"b", 1, "b1"}, {"a", 5, "a5"}, {"a", 7, "a7"}, {"", 3, "empty-key"},
		{"c", 0, ""}, {"a", 6, "a6"}, {"b", 2, "b2"}, {"ab", 1, "ab1"},
	}
	for _, e := range in {
		require.NoError(t, l.Add([]byte(e.key), e.tag, []byte(e.value)))
	}
	want := append([]entry(nil), in...)
	sort.Slice(want, func(i, j int) bool { return less(want[i], want[j]) })
	require.Equal(t, want, collect(l, false))
	rev := collect(l, true)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	require.Equal(t, want, rev)
	require.Equal(t, len(in), l.Len())

	// KeyWithTag is the key followed by the tag in little-endian: leveldb's internal key.
	it := l.NewIterator()
	require.True(t, it.SeekGE([]byte("a"), 6))
	require.Equal(t, "a6", string(it.Value()))
	kt := it.KeyWithTag()
	require.Equal(t, "a", string(kt[:1]))
	require.Equal(t, uint64(6), binary.LittleEndian.Uint64(kt[1:]))
	require.Equal(t, 9, cap(kt), "slices into the arena are capped")

	require.True(t, it.SeekLT([]byte("a"), 6))
	require.Equal(t, "a7", string(it.Value()))
	require.False(t, it.SeekLT([]byte(""), 3), "nothing sorts before the first entry")
	require.True(t, it.SeekGE([]byte("a"), 100), "a higher tag sorts before every entry of the key")
	require.Equal(t, "a7", string(it.Value()))
	require.True(t, it.SeekGE([]byte("a"), 0))
	require.Equal(t, "ab1", string(it.Value()))
	require.False(t, it.SeekGE([]byte("d"), 0))

	require.True(t, l.Contains([]byte("a"), 5))
	require.False(t, l.Contains([]byte("a"), 4))
	require.True(t, l.Contains([]byte(""), 3))
}

func TestDuplicateRejected(t *testing.T) {
	l := New(NewArena(1<<12), nil)
	require.NoError(t, l.Add([]byte("k"), 1, []byte("v1")))
	used := l.Arena().Size()
	require.ErrorIs(t, l.Add([]byte("k"), 1, []byte("v2")), ErrExists)
	require.Equal(t, used, l.Arena().Size(), "a rejected Add allocates nothing")
	require.NoError(t, l.Add([]byte("k"), 2, []byte("v2")))
	require.Equal(t, []entry{{"k", 2, "v2"}, {"k", 1, "v1"}}, collect(l, false))
}

func TestArenaFullLeavesListUnchanged(t *testing.T) {
	l := New(NewArena(4096), nil)
	var added []entry
	for i := 0; ; i++ {
		e := entry{fmt.Sprintf("key%05d", i), 0, "value"}
		err := l.Add([]byte(e.key), 0, []byte(e.value))
		if err != nil {
			require.ErrorIs(t, err, ErrArenaFull)
			break
		}
		added = append(added, e)
	}
	require.NotEmpty(t, added)
	require.LessOrEqual(t, l.Arena().Size(), l.Arena().Capacity())
	require.Equal(t, added, collect(l, false))
	require.ErrorIs(t, l.Add([]byte("x"), 0, make([]byte, 8192)), ErrArenaFull)
	require.Equal(t, added, collect(l, false))
}

func TestLargeAndEmptyValues(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789"), 800_000) // 8 MB
	l := New(NewArena(len(big)+1<<16), nil)
	require.NoError(t, l.Add([]byte("big"), 1, big))
	require.NoError(t, l.Add(nil, 1, nil))
	it := l.NewIterator()
	require.True(t, it.First())
	require.Empty(t, it.Key())
	require.Empty(t, it.Value())
	require.True(t, it.Next())
	require.Equal(t, big, it.Value())
	require.False(t, it.Next())
}

func TestCustomComparator(t *testing.T) {
	reverse := func(a, b []byte) int { return bytes.Compare(b, a) }
	l := New(NewArena(1<<16), reverse)
	for _, k := range []string{"a", "c", "b"} {
		require.NoError(t, l.Add([]byte(k), 0, nil))
	}
	var got []string
	for _, e := range collect(l, false) {
		got = append(got, e.key)
	}
	require.Equal(t, []string{"c", "b", "a"}, got)
}

// TestModel checks every operation against a sorted slice, on random keys drawn from a small
// alphabet so that equal keys with different tags are common.
// TestModel checks a list against a model, on a fresh arena and on a recycled one (Reset after
// it was filled with other entries, so that none of its old bytes may show through).
func TestModel(t *testing.T) {
	seed := uint64(rand.Uint32())
	t.Logf("seed %d", seed)
	t.Run("fresh", func(t *testing.T) { testModel(t, seed, New(NewArena(1<<22), nil)) })
	t.Run("reset", func(t *testing.T) {
		l := New(NewArena(1<<22), nil)
		for i := 0; i < 20000; i++ {
			require.NoError(t, l.Add(fmt.Appendf(nil, "old%05d", i), uint64(i), []byte("old value")))
		}
		l.Reset()
		require.Zero(t, l.Len())
		require.Equal(t, 1, l.Height())
		it := l.NewIterator()
		require.False(t, it.First())
		testModel(t, seed, l)
	})
}

func testModel(t *testing.T, seed uint64, l *List) {
	rng := rand.New(rand.NewPCG(seed, seed))
	present := map[entry]bool{}
	var model []entry
	randKey := func() []byte {
		k := make([]byte, rng.IntN(4))
		for i := range k {
			k[i] = "ab\x00\xff"[rng.IntN(4)]
		}
		return k
	}
	for i := 0; i < 5000; i++ {
		k, tag := randKey(), rng.Uint64N(8)
		e := entry{string(k), tag, fmt.Sprint(i)}
		err := l.Add(k, tag, []byte(e.value))
		if present[entry{e.key, tag, ""}] {
			require.ErrorIs(t, err, ErrExists)
			continue
		}
		require.NoError(t, err)
		present[entry{e.key, tag, ""}] = true
		model = append(model, e)
	}
	sort.Slice(model, func(i, j int) bool { return less(model[i], model[j]) })
	require.Equal(t, model, collect(l, false))
	require.Equal(t, len(model), l.Len())

	it := l.NewIterator()
	for i := 0; i < 2000; i++ {
		target := entry{key: string(randKey()), tag: rng.Uint64N(9)}
		ge := sort.Search(len(model), func(j int) bool { return !less(model[j], target) })
		if it.SeekGE([]byte(target.key), target.tag) {
			require.Less(t, ge, len(model))
			require.Equal(t, model[ge], entry{string(it.Key()), it.Tag(), string(it.Value())})
		} else {
			require.Equal(t, len(model), ge)
		}
		if it.SeekLT([]byte(target.key), target.tag) {
			require.Greater(t, ge, 0)
			require.Equal(t, model[ge-1], entry{string(it.Key()), it.Tag(), string(it.Value())})
			// Walk a few steps each way from here.
			pos := ge - 1
			for s := 0; s < 3 && it.Valid(); s++ {
				if rng.IntN(2) == 0 {
					it.Next()
					pos++
				} else {
					it.Prev()
					pos--
				}
				if pos < 0 || pos >= len(model) {
					require.False(t, it.Valid())
					break
				}
				require.Equal(t, model[pos].value, string(it.Value()))
			}
		} else {
			require.Equal(t, 0, ge)
		}
		require.Equal(t, present[entry{target.key, target.tag, ""}], l.Contains([]byte(target.key), target.tag))
	}
}

func TestAddAllocatesNothing(t *testing.T) {
	l := New(NewArena(64<<20), nil)
	rng := rand.New(rand.NewPCG(1, 1))
	key := make([]byte, 16)
	value := make([]byte, 100)
	allocs := testing.AllocsPerRun(10000, func() {
		binary.BigEndian.PutUint64(key, rng.Uint64())
		binary.BigEndian.PutUint64(key[8:], rng.Uint64())
		if err := l.Add(key, 1, value); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
	it := l.NewIterator()
	allocs = testing.AllocsPerRun(10000, func() {
		binary.BigEndian.PutUint64(key, rng.Uint64())
		it.SeekGE(key, 1)
	})
	require.Zero(t, allocs)
}

func TestHeightDistribution(t *testing.T) {
	l := New(NewArena(0), nil)
	counts := make([]int, MaxHeight+1)
	const n = 1 << 20
	for i := 0; i < n; i++ {
		counts[l.randomHeight()]++
	}
	// P(height >= h) = 4^-(h-1); check the first levels within a few percent.
	atLeast := n
	for h := 1; h <= 4; h++ {
		want := float64(n) / float64(uint64(1)<<(2*(h-1)))
		require.InDelta(t, want, float64(atLeast), want*0.05, "height >= %d", h)
		atLeast -= counts[h]
	}
	require.Zero(t, counts[0])
}

func TestCmpNodeMatchesBytesCompare(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	randKey := func() []byte {
		k := make([]byte, rng.IntN(24))
		for i := range k {
			k[i] = []byte{0, 1, 0x7f, 0x80, 0xff}[rng.IntN(5)]
		}
		return k
	}
	l := New(NewArena(1<<22), nil)
	var nodes []*node
	for i := 0; i < 2000; i++ {
		k := randKey()
		tag := uint64(rng.IntN(3))
		if l.Add(k, tag, nil) == nil {
			var it Iterator
			it.Init(l)
			it.SeekGE(k, tag)
			nodes = append(nodes, l.arena.node(it.nd))
		}
	}
	sign := func(c int) int { return min(max(c, -1), 1) }
	for i := 0; i < 100000; i++ {
		n := nodes[rng.IntN(len(nodes))]
		k, tag := randKey(), uint64(rng.IntN(3))
		want := bytes.Compare(l.arena.key(n), k)
		if want == 0 {
			want = -sign(int(l.arena.tag(n)) - int(tag))
		}
		require.Equal(t, want, sign(l.cmpNode(n, k, tag)), "%x#%d vs %x#%d", l.arena.key(n), l.arena.tag(n), k, tag)
	}
}

func TestHandles(t *testing.T) {
	l := New(NewArena(1<<16), nil)
	long := []byte("0123456789abcdefXYZ")
	h1, err := l.Insert([]byte("short"), 7, []byte("v1"))
	require.NoError(t, err)
	h2, err := l.Insert(long, 9, []byte("v2"))
	require.NoError(t, err)
	require.NotZero(t, h1)
	require.NotEqual(t, h1, h2)
	require.Equal(t, "short", string(l.KeyAt(h1)))
	require.Equal(t, uint64(9), l.TagAt(h2))
	require.True(t, l.SameKey(h1, []byte("short")))
	require.False(t, l.SameKey(h1, []byte("short\x00")), "a zero-padded key is a different key")
	require.False(t, l.SameKey(h1, []byte("shore")))
	require.True(t, l.SameKey(h2, long))
	require.False(t, l.SameKey(h2, []byte("0123456789abcdefXYW")), "differs past the prefix")
	require.False(t, l.SameKey(h2, long[:16]))
	var it Iterator
	it.Init(l)
	it.SetHandle(h1)
	require.Equal(t, "v1", string(it.Value()))
	require.False(t, it.Next())
	it.SetHandle(h2)
	require.True(t, it.Next())
	require.Equal(t, "short", string(it.Key()))
}

// TestTallNodesPacked checks where nodes go: taller than one level into the tall region while it
// has room, the others after it; once the region is full, tall nodes go with the others and the
// list stays whole.
func TestTallNodesPacked(t *testing.T) {
	a := NewArena(1 << 16)
	l := New(a, nil)
	var want []entry
	tall, short, spilled := 0, 0, 0
	for i := 0; ; i++ {
		h := uint32(1 + i%2)
		l.randH = func() uint32 { return h }
		e := entry{fmt.Sprintf("key%05d", (i*7919)%100000), 0, "v"}
		handle, err := l.Insert([]byte(e.key), 0, []byte(e.value))
		if err != nil {
			require.ErrorIs(t, err, ErrArenaFull)
			break
		}
		want = append(want, e)
		inTall := uint32(handle) < a.tallEnd
		switch {
		case h == 1:
			require.False(t, inTall, "a node of height 1 in the tall region")
			short++
		case inTall:
			tall++
		default:
			require.Greater(t, a.tallLow+nodeHeaderSize+8, a.tallEnd, "a tall node outside the tall region while it had room")
			spilled++
		}
	}
	require.Positive(t, tall)
	require.Positive(t, short)
	require.Positive(t, spilled, "the tall region never filled; the test needs smaller entries")
	require.LessOrEqual(t, a.Size(), a.Capacity())
	sort.Slice(want, func(i, j int) bool { return want[i].key < want[j].key })
	require.Equal(t, want, collect(l, false))
}
