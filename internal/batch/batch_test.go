package batch

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/testutil/testseed"
)

// op is one entry as a test sees it.
type op struct {
	kind       keys.Kind
	key, value string
}

func build(seq keys.SeqNum, ops []op) Repr {
	var r Repr
	r.Reset()
	r.SetSeq(seq)
	for _, o := range ops {
		if o.kind == keys.KindSet {
			r.AppendPut([]byte(o.key), []byte(o.value))
		} else {
			r.AppendDelete([]byte(o.key))
		}
	}
	return r
}

type applied struct {
	seq keys.SeqNum
	op
}

func decodeAll(t *testing.T, r Repr) []applied {
	t.Helper()
	var got []applied
	err := Apply(r, "test.log", 7, func(seq keys.SeqNum, kind keys.Kind, key, value []byte) error {
		got = append(got, applied{seq, op{kind, string(key), string(value)}})
		return nil
	})
	require.NoError(t, err)
	return got
}

func TestExactBytes(t *testing.T) {
	r := build(100, []op{
		{keys.KindSet, "k", "v"},
		{keys.KindDelete, "ab", ""},
		{keys.KindSet, "", ""},
	})
	want := []byte{
		100, 0, 0, 0, 0, 0, 0, 0, // sequence
		3, 0, 0, 0, // count
		1, 1, 'k', 1, 'v', // put k v
		0, 2, 'a', 'b', // delete ab
		1, 0, 0, // put "" ""
	}
	require.Equal(t, want, []byte(r))
	require.Equal(t, uint32(3), r.Count())
	require.Equal(t, keys.SeqNum(100), r.Seq())
	require.Equal(t, []applied{
		{100, op{keys.KindSet, "k", "v"}},
		{101, op{keys.KindDelete, "ab", ""}},
		{102, op{keys.KindSet, "", ""}},
	}, decodeAll(t, r))

	// A key of 200 bytes takes a two-byte length (0xc8 0x01); so does a 300-byte value.
	long := build(1<<40, []op{{keys.KindSet, string(bytes.Repeat([]byte("x"), 200)), string(bytes.Repeat([]byte("y"), 300))}})
	require.Equal(t, []byte{0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0xc8, 0x01}, []byte(long[:15]))
	require.Equal(t, []byte{0xac, 0x02}, []byte(long[15+200:15+202]))
	require.Len(t, long, HeaderLen+EncodedPutLen(200, 300))
}

func TestZeroValueAndReset(t *testing.T) {
	var r Repr
	require.Zero(t, r.Count())
	require.Zero(t, r.Seq())
	require.True(t, r.Empty())
	r.AppendDelete([]byte("a"))
	require.Equal(t, []byte{0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 'a'}, []byte(r))

	r.SetSeq(9)
	before := cap(r)
	r.Reset()
	require.Equal(t, make([]byte, HeaderLen), []byte(r), "Reset zeroes the sequence and the count")
	require.Equal(t, before, cap(r), "Reset keeps the storage")

	buf := make([]byte, 5, 64)
	n := New(buf)
	require.Len(t, n, HeaderLen)
	require.Equal(t, 64, cap(n))
	require.NoError(t, Validate(n, "", 0))
	require.Empty(t, decodeAll(t, n))
}

func TestAppend(t *testing.T) {
	a := build(50, []op{{keys.KindSet, "a", "1"}, {keys.KindDelete, "b", ""}})
	b := build(0, []op{{keys.KindSet, "c", "3"}})
	var empty Repr
	group := New(nil)
	group.SetSeq(50)
	group.Append(a)
	group.Append(empty) // a zero Repr adds nothing
	group.Append(New(nil))
	group.Append(b)
	require.Equal(t, []byte(build(50, []op{{keys.KindSet, "a", "1"}, {keys.KindDelete, "b", ""}, {keys.KindSet, "c", "3"}})), []byte(group))

	// Appending to a batch keeps its own sequence number.
	a.Append(b)
	require.Equal(t, keys.SeqNum(50), a.Seq())
	require.Equal(t, []byte(group), []byte(a))
}

func randomOps(rng *rand.Rand) []op {
	ops := make([]op, rng.IntN(40))
	randString := func() string {
		n := rng.IntN(20)
		if rng.IntN(10) == 0 {
			n = rng.IntN(1000) // multi-byte lengths
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return string(b)
	}
	for i := range ops {
		if rng.IntN(3) == 0 {
			ops[i] = op{keys.KindDelete, randString(), ""}
		} else {
			ops[i] = op{keys.KindSet, randString(), randString()}
		}
	}
	return ops
}

func TestRoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 1))
	var group Repr
	var groupOps []op
	for i := 0; i < 500; i++ {
		ops := randomOps(rng)
		seq := keys.SeqNum(rng.Uint64N(uint64(keys.MaxSeqNum) - uint64(len(ops)) + 2))
		if rng.IntN(10) == 0 && len(ops) > 0 {
			seq = keys.MaxSeqNum - keys.SeqNum(len(ops)-1) // the last entry takes the maximum
		}
		r := build(seq, ops)
		size := HeaderLen
		for _, o := range ops {
			if o.kind == keys.KindSet {
				size += EncodedPutLen(len(o.key), len(o.value))
			} else {
				size += EncodedDeleteLen(len(o.key))
			}
		}
		require.Len(t, r, size)

		got := decodeAll(t, r)
		require.Len(t, got, len(ops))
		for j, g := range got {
			require.Equal(t, seq+keys.SeqNum(j), g.seq)
			require.Equal(t, ops[j], g.op)
		}

		// Reader gives the same entries, and header accessors agree.
		rd, err := NewReader(r, "", 0)
		require.NoError(t, err)
		require.Equal(t, seq, rd.Seq())
		require.Equal(t, uint32(len(ops)), rd.Count())
		j := 0
		for kind, key, value, ok := rd.Next(); ok; kind, key, value, ok = rd.Next() {
			require.Equal(t, ops[j], op{kind, string(key), string(value)})
			if kind == keys.KindDelete {
				require.Nil(t, value)
			}
			j++
		}
		require.NoError(t, rd.Err())
		require.Equal(t, len(ops), j)

		// Group commit: concatenating batches equals one batch of all their entries.
		if i%10 == 0 {
			group.Reset()
			groupOps = groupOps[:0]
		}
		group.Append(r)
		groupOps = append(groupOps, ops...)
		require.Equal(t, []byte(build(0, groupOps)), []byte(group))
	}
}

func TestApplyStopsOnError(t *testing.T) {
	r := build(1, []op{{keys.KindSet, "a", "1"}, {keys.KindSet, "b", "2"}, {keys.KindSet, "c", "3"}})
	boom := errors.New("boom")
	var seen []string
	err := Apply(r, "", 0, func(seq keys.SeqNum, kind keys.Kind, key, value []byte) error {
		seen = append(seen, string(key))
		if len(seen) == 2 {
			return boom
		}
		return nil
	})
	require.Same(t, boom, err)
	require.Equal(t, []string{"a", "b"}, seen)

	// A damaged batch reaches fn not at all, even when its first entries are intact.
	bad := append(bytes.Clone(r), 9)
	calls := 0
	err = Apply(bad, "", 0, func(keys.SeqNum, keys.Kind, []byte, []byte) error { calls++; return nil })
	require.Error(t, err)
	require.Zero(t, calls)
}

func TestAllocs(t *testing.T) {
	key, value := []byte("0123456789abcdef"), bytes.Repeat([]byte("v"), 100)
	r := New(make([]byte, 0, 64<<10))
	allocs := testing.AllocsPerRun(100, func() {
		r.Reset()
		r.SetSeq(1)
		for i := 0; i < 100; i++ {
			r.AppendPut(key, value)
			r.AppendDelete(key)
		}
	})
	require.Zero(t, allocs, "append")

	other := build(0, []op{{keys.KindSet, "x", "y"}})
	group := New(make([]byte, 0, 64<<10))
	allocs = testing.AllocsPerRun(100, func() {
		group.Reset()
		group.Append(r)
		group.Append(other)
	})
	require.Zero(t, allocs, "group append")

	var n int
	allocs = testing.AllocsPerRun(100, func() {
		rd, err := NewReader(r, "000001.log", 0)
		if err != nil {
			panic(err)
		}
		for _, k, v, ok := rd.Next(); ok; _, k, v, ok = rd.Next() {
			n += len(k) + len(v)
		}
		if rd.Err() != nil {
			panic(rd.Err())
		}
	})
	require.Zero(t, allocs, "iterate")

	allocs = testing.AllocsPerRun(100, func() {
		err := Apply(r, "000001.log", 0, func(seq keys.SeqNum, kind keys.Kind, key, value []byte) error {
			n += len(key)
			return nil
		})
		if err != nil {
			panic(err)
		}
	})
	require.Zero(t, allocs, "apply")
	require.Positive(t, n)
}

func BenchmarkAppendPut(b *testing.B) {
	key, value := []byte("0123456789abcdef"), bytes.Repeat([]byte("v"), 100)
	r := New(make([]byte, 0, 1<<20))
	b.SetBytes(int64(EncodedPutLen(len(key), len(value))))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(r) > 1<<20-200 {
			r.Reset()
		}
		r.AppendPut(key, value)
	}
}

func BenchmarkReader(b *testing.B) {
	key, value := []byte("0123456789abcdef"), bytes.Repeat([]byte("v"), 100)
	var r Repr
	for i := 0; i < 1000; i++ {
		r.AppendPut(key, value)
	}
	b.SetBytes(int64(len(r)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rd, _ := NewReader(r, "", 0)
		for _, _, _, ok := rd.Next(); ok; _, _, _, ok = rd.Next() {
		}
		if rd.Err() != nil {
			b.Fatal(rd.Err())
		}
	}
}

// TestEntryAt decodes entries at the offsets noted before appending them, and refuses offsets
// where no entry starts.
func TestEntryAt(t *testing.T) {
	r := New(nil)
	offs := []int{}
	offs = append(offs, len(r))
	r.AppendPut([]byte("k1"), []byte("v1"))
	offs = append(offs, len(r))
	r.AppendDelete([]byte("k2"))
	kind, key, value, ok := EntryAt(r, offs[0])
	require.True(t, ok)
	require.Equal(t, keys.KindSet, kind)
	require.Equal(t, "k1", string(key))
	require.Equal(t, "v1", string(value))
	kind, key, value, ok = EntryAt(r, offs[1])
	require.True(t, ok)
	require.Equal(t, keys.KindDelete, kind)
	require.Equal(t, "k2", string(key))
	require.Nil(t, value)
	for _, off := range []int{0, HeaderLen - 1, len(r), len(r) + 5, offs[1] + 1} {
		_, _, _, ok = EntryAt(r, off)
		require.False(t, ok, "offset %d", off)
	}
}
