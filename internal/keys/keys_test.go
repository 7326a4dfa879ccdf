package keys

import (
	"bytes"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/testutil/testcmp"
)

func TestBytewiseSeparator(t *testing.T) {
	cases := []struct{ a, b, want string }{
		{"abc1xyz", "abc9", "abc2"},                // shortened: differing byte incremented
		{"abc", "abcdef", "abc"},                   // a is a prefix of b: unchanged
		{"abcdef", "abc", "abcdef"},                // b is a prefix of a (not a < b, but no panic)
		{"abc1", "abc2", "abc1"},                   // adjacent bytes: unchanged
		{"ab\xff\x01", "ac", "ab\xff\x01"},         // 'b'+1 == 'c': unchanged
		{"a\xffz", "a\xff\xffz", "a\xff{"},         // differing byte 'z' < 0xff: incremented
		{"helloworld", "hellz", "hellp"},           // 'o'+1 < 'z'
		{"", "a", ""},                              // empty a
		{"same", "same", "same"},                   // equal keys: unchanged
		{"1000000000", "2000000000", "1000000000"}, // '1'+1 == '2'
		{"1000000000", "3", "2"},
		{"\xfe\x00", "\xff", "\xfe\x00"},     // 0xfe+1 == 0xff: unchanged
		{"\xff\x01", "\xff\x05", "\xff\x02"}, // a leading 0xff is kept
	}
	for _, c := range cases {
		got := Bytewise.Separator(nil, []byte(c.a), []byte(c.b))
		require.Equal(t, c.want, string(got), "Separator(%q, %q)", c.a, c.b)
	}
}

func TestBytewiseSuccessor(t *testing.T) {
	cases := []struct{ a, want string }{
		{"abc", "b"},
		{"\xff\xffabc", "\xff\xffb"},
		{"\xff\xff", "\xff\xff"},
		{"", ""},
		{"\x00", "\x01"},
	}
	for _, c := range cases {
		got := Bytewise.Successor([]byte("prefix:"), []byte(c.a))
		require.Equal(t, "prefix:"+c.want, string(got), "Successor(%q)", c.a)
	}
}

// The separator contract (a <= s < b) and the successor contract (s >= a) hold on random keys.
func TestSeparatorContractRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ic := NewInternalComparator(Bytewise)
	randKey := func() []byte {
		k := make([]byte, rng.IntN(6))
		for i := range k {
			k[i] = []byte{0, 1, 'a', 'b', 0xfe, 0xff}[rng.IntN(6)]
		}
		return k
	}
	for i := 0; i < 20000; i++ {
		a, b := randKey(), randKey()
		if c := bytes.Compare(a, b); c > 0 {
			a, b = b, a
		} else if c == 0 {
			continue
		}
		s := Bytewise.Separator(nil, a, b)
		require.True(t, bytes.Compare(a, s) <= 0 && bytes.Compare(s, b) < 0, "Separator(%q,%q)=%q", a, b, s)
		require.True(t, bytes.Compare(Bytewise.Successor(nil, a), a) >= 0)

		ia := AppendInternalKey(nil, a, SeqNum(rng.Uint64N(100)), KindSet)
		ib := AppendInternalKey(nil, b, SeqNum(rng.Uint64N(100)), KindDelete)
		is := ic.Separator(nil, ia, ib)
		require.True(t, ic.Compare(ia, is) <= 0 && ic.Compare(is, ib) < 0,
			"internal Separator(%s,%s)=%s", FormatInternalKey(ia), FormatInternalKey(ib), FormatInternalKey(is))
		require.True(t, ic.Compare(ic.Successor(nil, ia), ia) >= 0)
	}
}

func TestInternalKeyEncoding(t *testing.T) {
	k := AppendInternalKey(nil, []byte("apple"), 12, KindSet)
	require.Equal(t, append([]byte("apple"), 0x01, 0x0c, 0, 0, 0, 0, 0, 0), k)
	pk, ok := Parse(k)
	require.True(t, ok)
	require.Equal(t, "apple", string(pk.UserKey))
	require.Equal(t, SeqNum(12), pk.Seq)
	require.Equal(t, KindSet, pk.Kind)
	require.Equal(t, k, pk.Encode(nil))
	require.Equal(t, "apple#12,SET", pk.String())

	_, ok = Parse([]byte("short"))
	require.False(t, ok)
	_, ok = Parse(AppendInternalKey(nil, []byte("x"), 1, Kind(7)))
	require.False(t, ok)
	require.Equal(t, []byte("short"), UserKey([]byte("short")))
	require.Equal(t, uint64(0), TrailerOf([]byte("short")))

	seq, kind := SplitTrailer(Trailer(MaxSeqNum, KindDelete))
	require.Equal(t, MaxSeqNum, seq)
	require.Equal(t, KindDelete, kind)
	require.Equal(t, Trailer(MaxSeqNum, KindMax), MaxTrailer)
}

func TestInternalOrder(t *testing.T) {
	ic := NewInternalComparator(Bytewise)
	// Written in the order they must sort.
	want := []string{
		"#9,SET", // empty user key sorts first
		"a#100,SET",
		"a#100,DEL",
		"a#5,SET",
		"a#0,DEL",
		"a\\x00#7,SET",
		"b#1,SET",
	}
	var ks [][]byte
	for _, s := range want {
		pk, err := ParseDebug(s)
		require.NoError(t, err)
		ks = append(ks, pk.Encode(nil))
	}
	shuffled := append([][]byte(nil), ks...)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	sort.Slice(shuffled, func(i, j int) bool { return ic.Compare(shuffled[i], shuffled[j]) < 0 })
	var got []string
	for _, k := range shuffled {
		got = append(got, FormatInternalKey(k))
	}
	require.Equal(t, want, got)

	// A lookup key at seq 50 lands after newer entries and before older ones.
	lookup := AppendInternalKey(nil, []byte("a"), 50, KindMax)
	require.Positive(t, ic.Compare(lookup, ks[2]))
	require.Negative(t, ic.Compare(lookup, ks[3]))
	require.Equal(t, InternalComparatorName, ic.Name())

	// Short (corrupt) keys compare without panicking.
	require.NotPanics(t, func() { ic.Compare([]byte("ab"), ks[1]) })
}

func TestInternalComparatorCustomUserOrder(t *testing.T) {
	ic := NewInternalComparator(testcmp.Reverse{})
	require.False(t, IsBytewise(testcmp.Reverse{}))
	require.True(t, IsBytewise(Bytewise))
	a := AppendInternalKey(nil, []byte("a"), 1, KindSet)
	b := AppendInternalKey(nil, []byte("b"), 1, KindSet)
	require.Positive(t, ic.Compare(a, b))
	require.Equal(t, a, ic.Separator(nil, a, b))
	require.Equal(t, a, ic.Successor(nil, a))
}

func TestFormatAndParseDebug(t *testing.T) {
	cases := []ParsedKey{
		{UserKey: []byte("apple"), Seq: 12, Kind: KindSet},
		{UserKey: []byte(""), Seq: 0, Kind: KindDelete},
		{UserKey: []byte("a#b,c\\d\x00\xff"), Seq: MaxSeqNum, Kind: KindSet},
	}
	for _, pk := range cases {
		s := pk.String()
		got, err := ParseDebug(s)
		require.NoError(t, err, s)
		require.Equal(t, string(pk.UserKey), string(got.UserKey))
		require.Equal(t, pk.Seq, got.Seq)
		require.Equal(t, pk.Kind, got.Kind)
	}
	require.Equal(t, `a#b,c\\d\x00\xff#72057594037927935,SET`, cases[2].String())
	require.Equal(t, "KIND(9)", Kind(9).String())
	require.Equal(t, "ab#BAD", FormatInternalKey([]byte("ab")))

	for _, bad := range []string{"nohash", "a#1", "a#x,SET", "a#1,PUT", `a\q#1,SET`, `a\x#1,SET`, "a#72057594037927936,SET"} {
		_, err := ParseDebug(bad)
		require.Error(t, err, bad)
	}
}

func BenchmarkInternalCompare(b *testing.B) {
	ic := NewInternalComparator(Bytewise)
	x := AppendInternalKey(nil, []byte("0123456789abcdef"), 5, KindSet)
	y := AppendInternalKey(nil, []byte("0123456789abcdeg"), 5, KindSet)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ic.Compare(x, y)
	}
}
