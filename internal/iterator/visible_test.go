package iterator_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/iterator"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/testutil/iterutil"
	"github.com/stratadb/strata/memtable"
)

var _ iterator.Iterator = (*iterator.Visible)(nil)

// parseBounds reads "[lower,upper)" where "-" is no bound; "" is no bounds at all.
func parseBounds(t *testing.T, s string) (lower, upper []byte) {
	if s == "" {
		return nil, nil
	}
	require.True(t, strings.HasPrefix(s, "[") && strings.HasSuffix(s, ")"), "bounds %q", s)
	l, u, ok := strings.Cut(s[1:len(s)-1], ",")
	require.True(t, ok, "bounds %q", s)
	if l != "-" {
		lower = []byte(l)
	}
	if u != "-" {
		upper = []byte(u)
	}
	return lower, upper
}

// runOps performs a space-separated script of First, Last, Next, Prev, SeekGE(k), SeekLT(k) and
// returns, per call, "key=value" where the iterator landed or "." at an end. Next and Prev on an
// invalid iterator are skipped with "!", which a script should not need.
func runOps(t *testing.T, it iterator.Iterator, script string) string {
	var out []string
	for _, op := range strings.Fields(script) {
		var ok bool
		switch {
		case op == "First":
			ok = it.First()
		case op == "Last":
			ok = it.Last()
		case op == "Next" || op == "Prev":
			if !it.Valid() {
				out = append(out, "!")
				continue
			}
			if op == "Next" {
				ok = it.Next()
			} else {
				ok = it.Prev()
			}
		case strings.HasPrefix(op, "SeekGE(") && strings.HasSuffix(op, ")"):
			ok = it.SeekGE([]byte(op[7 : len(op)-1]))
		case strings.HasPrefix(op, "SeekLT(") && strings.HasSuffix(op, ")"):
			ok = it.SeekLT([]byte(op[7 : len(op)-1]))
		default:
			t.Fatalf("unknown op %q", op)
		}
		require.Equal(t, ok, it.Valid(), op)
		require.NoError(t, it.Error(), op)
		if ok {
			out = append(out, string(it.Key())+"="+string(it.Value()))
		} else {
			out = append(out, ".")
		}
	}
	return strings.Join(out, " ")
}

// sources returns ways to feed the same internal entries to Visible: one slice, and the entries
// dealt round-robin over three slices merged.
func sources(entries []iterutil.Entry) map[string]func() iterator.Iterator {
	return map[string]func() iterator.Iterator{
		"slice": func() iterator.Iterator { return iterutil.NewSlice(icmp.Compare, entries) },
		"merged": func() iterator.Iterator {
			parts := make([][]iterutil.Entry, 3)
			for i, e := range entries {
				parts[i%3] = append(parts[i%3], e)
			}
			var its []iterator.Iterator
			for _, p := range parts {
				its = append(its, iterutil.NewSlice(icmp.Compare, p))
			}
			return iterator.NewMerging(icmp.Compare, its...)
		},
	}
}

func TestVisibleCases(t *testing.T) {
	// One data set for most cases: a has three versions, b was deleted and re-added, c was
	// added and deleted, d has one version, e has only a deletion.
	const data = "a#9,SET=a9 a#5,SET=a5 a#2,SET=a2 b#8,SET=b8 b#6,DEL b#3,SET=b3 " +
		"c#7,DEL c#4,SET=c4 d#1,SET=d1 e#10,DEL"
	cases := []struct {
		name    string
		entries string
		seq     keys.SeqNum
		bounds  string
		ops     string
		want    string
	}{
		{"latest", data, 100, "", "First Next Next Next", "a=a9 b=b8 d=d1 ."},
		{"latest backward", data, 100, "", "Last Prev Prev Prev", "d=d1 b=b8 a=a9 ."},
		{"snapshot between versions", data, 5, "", "First Next Next Next Next", "a=a5 b=b3 c=c4 d=d1 ."},
		{"snapshot between versions backward", data, 5, "", "Last Prev Prev Prev Prev", "d=d1 c=c4 b=b3 a=a5 ."},
		{"snapshot sees b before its deletion", data, 3, "", "First Next Next Next", "a=a2 b=b3 d=d1 ."},
		{"snapshot at the deletion of b", data, 6, "", "First Next Next Next Last Prev Prev Prev", "a=a5 c=c4 d=d1 . d=d1 c=c4 a=a5 ."},
		{"snapshot at 1", data, 1, "", "First Next Last Prev", "d=d1 . d=d1 ."},
		{"snapshot 0 sees nothing", data, 0, "", "First Last SeekGE(a) SeekLT(z)", ". . . ."},
		{"direction switches", data, 100, "", "First Next Prev Next Next Prev Prev Prev", "a=a9 b=b8 a=a9 b=b8 d=d1 b=b8 a=a9 ."},
		{"switch at the ends", data, 100, "", "Last Next Last Prev Next Next", "d=d1 . d=d1 b=b8 d=d1 ."},
		{"switch on a key with hidden versions", data, 5, "", "SeekGE(a) Next Prev Next Next Prev", "a=a5 b=b3 a=a5 b=b3 c=c4 b=b3"},
		{"switch backward then forward", data, 5, "", "Last Prev Next Prev Prev Next", "d=d1 c=c4 d=d1 c=c4 b=b3 c=c4"},
		{"seeks", data, 100, "", "SeekGE(b) SeekGE(bb) SeekGE(c) SeekGE(e) SeekGE() SeekLT(b) SeekLT(c) SeekLT(e) SeekLT(a) SeekLT(zz)",
			"b=b8 d=d1 d=d1 . a=a9 a=a9 b=b8 d=d1 . d=d1"},
		{"seek into hidden versions", data, 4, "", "SeekGE(a) SeekGE(b) SeekLT(c) SeekLT(d)", "a=a2 b=b3 b=b3 c=c4"},
		{"seek then move", data, 100, "", "SeekGE(b) Prev SeekLT(d) Next SeekLT(b) Next", "b=b8 a=a9 b=b8 d=d1 a=a9 b=b8"},

		{"bounds", data, 100, "[b,d)", "First Next Last Prev", "b=b8 . b=b8 ."},
		{"bounds include d", data, 100, "[b,e)", "First Next Next Last Prev Prev", "b=b8 d=d1 . d=d1 b=b8 ."},
		{"lower only", data, 100, "[aa,-)", "First Last Prev Prev", "b=b8 d=d1 b=b8 ."},
		{"upper only", data, 100, "[-,b)", "First Next Last Prev", "a=a9 . a=a9 ."},
		{"seek below lower clamps", data, 100, "[b,-)", "SeekGE(a) SeekGE() Prev", "b=b8 b=b8 ."},
		{"seek above upper clamps", data, 100, "[-,c)", "SeekLT(z) Next SeekLT(c) SeekLT(bb)", "b=b8 . b=b8 b=b8"},
		{"seek at or past upper", data, 100, "[-,c)", "SeekGE(c) SeekGE(d) SeekGE(bz)", ". . ."},
		{"seek at or below lower", data, 100, "[b,-)", "SeekLT(b) SeekLT(a) SeekLT(ba)", ". . b=b8"},
		{"empty range", data, 100, "[c,c)", "First Last SeekGE(c) SeekLT(c)", ". . . ."},
		{"inverted range", data, 100, "[d,b)", "First Last", ". ."},
		{"empty upper bound", data, 100, "[-,)", "First Last", ". ."},
		{"bounds with snapshot", data, 4, "[b,d)", "First Next Last Prev", "b=b3 c=c4 c=c4 b=b3"},
		{"range of only deletions", data, 100, "[c,d)", "First Last SeekGE(c) SeekLT(d)", ". . . ."},

		{"all deleted", "a#3,DEL a#1,SET=x b#4,DEL c#2,DEL c#1,SET=y", 100, "", "First Last SeekGE(b) SeekLT(c)", ". . . ."},
		{"all deleted in the middle", "a#1,SET=a b#3,DEL b#2,SET=b c#5,DEL d#1,SET=d", 100, "",
			"First Next Next Last Prev Prev SeekGE(b) SeekLT(d)", "a=a d=d . d=d a=a . d=d a=a"},
		{"no entries", "", 100, "", "First Last SeekGE(a) SeekLT(a)", ". . . ."},
		{"empty key", "#3,SET=e3 #1,SET=e1 a#2,SET=a2", 100, "", "First Next Prev Prev SeekGE() SeekLT(a) Last Prev", "=e3 a=a2 =e3 . =e3 =e3 a=a2 =e3"},
		{"empty key at a snapshot", "#3,SET=e3 #1,SET=e1 a#2,SET=a2", 2, "", "First Next Prev", "=e1 a=a2 =e1"},
		{"empty key deleted", "#3,DEL #1,SET=e1 a#2,SET=a2", 100, "", "First Prev Last Prev", "a=a2 . a=a2 ."},
		{"empty value", "a#1,SET= b#1,SET=", 100, "", "First Next Last Prev", "a= b= b= a="},
		{"versions newer than the snapshot only", "a#5,SET=x b#6,SET=y", 4, "", "First Last", ". ."},
		{"many hidden versions", "k#9,SET=9 k#8,SET=8 k#7,DEL k#6,SET=6 k#5,SET=5 k#4,DEL k#3,SET=3", 100, "",
			"First Prev", "k=9 ."},
		{"deleted then set again at the snapshot", "k#9,SET=9 k#8,SET=8 k#7,DEL k#6,SET=6 k#5,SET=5 k#4,DEL k#3,SET=3", 7, "",
			"First Last SeekGE(k) SeekLT(l)", ". . . ."},
		{"older set under a deletion", "k#9,SET=9 k#8,SET=8 k#7,DEL k#6,SET=6 k#5,SET=5 k#4,DEL k#3,SET=3", 6, "",
			"First Last", "k=6 k=6"},
	}
	for _, c := range cases {
		entries := parseEntries(t, c.entries)
		lower, upper := parseBounds(t, c.bounds)
		for srcName, src := range sources(entries) {
			t.Run(c.name+"/"+srcName, func(t *testing.T) {
				v := iterator.NewVisible(src(), keys.Bytewise, c.seq, lower, upper)
				require.Equal(t, c.want, runOps(t, v, c.ops))
				require.NoError(t, v.Close())
			})
		}
	}
}

// reverseOrder orders user keys backward, to run Visible and the memtable through a
// comparator that is not bytewise.
type reverseOrder struct{}

func (reverseOrder) Compare(a, b []byte) int           { return bytes.Compare(b, a) }
func (reverseOrder) Name() string                      { return "test.Reverse" }
func (reverseOrder) Separator(dst, a, b []byte) []byte { return append(dst, a...) }
func (reverseOrder) Successor(dst, a []byte) []byte    { return append(dst, a...) }

type write struct {
	seq   keys.SeqNum
	kind  keys.Kind
	key   string
	value string
}

// TestVisibleRandom writes random puts and deletes (few keys, so many versions each) into
// several sources, merges them, and checks Visible at a random snapshot with random bounds
// against a model built from a map: each key's newest write at or below the snapshot.
func TestVisibleRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 0x7669))
	for round := 0; round < iters(300); round++ {
		ucmp := keys.Bytewise
		if rng.IntN(4) == 0 {
			ucmp = reverseOrder{}
		}
		ic := keys.NewInternalComparator(ucmp)

		nkeys := rng.IntN(30) + 1
		keyOf := func(i int) string {
			if i == 0 {
				return "" // the empty key is a key like any other
			}
			return fmt.Sprintf("k%02d", i)
		}
		var writes []write
		for seq := keys.SeqNum(1); seq <= keys.SeqNum(rng.IntN(200)); seq++ {
			w := write{seq: seq, kind: keys.KindSet, key: keyOf(rng.IntN(nkeys))}
			if rng.IntN(3) == 0 {
				w.kind = keys.KindDelete
			} else {
				w.value = fmt.Sprintf("v%d", seq)
			}
			writes = append(writes, w)
		}

		// Deal the writes over sources: memtables (stable keys) and slices (which scribble over
		// keys they have handed out, catching a Visible that keeps them too long).
		nsrc := rng.IntN(4) + 1
		mts := make([]*memtable.MemTable, nsrc)
		parts := make([][]iterutil.Entry, nsrc)
		useSlice := make([]bool, nsrc)
		for i := range mts {
			mts[i] = memtable.New(ucmp, 1<<20)
			useSlice[i] = rng.IntN(2) == 0
		}
		for _, w := range writes {
			i := rng.IntN(nsrc)
			require.NoError(t, mts[i].Add(w.seq, w.kind, []byte(w.key), []byte(w.value)))
			ik := keys.AppendInternalKey(nil, []byte(w.key), w.seq, w.kind)
			parts[i] = append(parts[i], iterutil.Entry{Key: ik, Value: []byte(w.value)})
		}
		var its []iterator.Iterator
		for i := range mts {
			if useSlice[i] {
				slices.SortFunc(parts[i], func(a, b iterutil.Entry) int { return ic.Compare(a.Key, b.Key) })
				its = append(its, iterutil.NewSlice(ic.Compare, parts[i]))
			} else {
				its = append(its, mts[i].NewIterator())
			}
		}

		snap := keys.SeqNum(rng.IntN(len(writes) + 2))
		randBound := func() []byte {
			if rng.IntN(2) == 0 {
				return nil
			}
			return []byte(keyOf(rng.IntN(nkeys + 1)))
		}
		lower, upper := randBound(), randBound()

		// The model: newest write per key at or below snap, values only, within bounds.
		newest := map[string]write{}
		for _, w := range writes {
			if w.seq <= snap {
				newest[w.key] = w
			}
		}
		var model []iterutil.Entry
		for k, w := range newest {
			if w.kind != keys.KindSet ||
				lower != nil && ucmp.Compare([]byte(k), lower) < 0 ||
				upper != nil && ucmp.Compare([]byte(k), upper) >= 0 {
				continue
			}
			model = append(model, iterutil.Entry{Key: []byte(k), Value: []byte(w.value)})
		}
		slices.SortFunc(model, func(a, b iterutil.Entry) int { return ucmp.Compare(a.Key, b.Key) })

		v := iterator.NewVisible(iterator.NewMerging(ic.Compare, its...), ucmp, snap, lower, upper)
		m := &iterutil.Model{
			Cmp:     ucmp.Compare,
			Entries: model,
			SeekKey: func(rng *rand.Rand) []byte {
				k := []byte(keyOf(rng.IntN(nkeys + 2)))
				if rng.IntN(4) == 0 {
					k = append(k, 0)
				}
				return k
			},
		}
		iterutil.CheckAgainstModel(t, v, m, rng, 200)
		require.NoError(t, v.Close())
	}
}

func TestVisibleErrors(t *testing.T) {
	boom := errors.New("boom")
	entries := parseEntries(t, "a#3,SET=a3 a#1,SET=a1 b#2,SET=b2 c#5,SET=c5 c#4,SET=c4 d#6,SET=d6")

	t.Run("forward", func(t *testing.T) {
		v := iterator.NewVisible(iterutil.NewSlice(icmp.Compare, entries).FailAt(4, boom), keys.Bytewise, 100, nil, nil)
		require.True(t, v.First())
		require.True(t, v.Next())
		require.True(t, v.Next())
		require.Equal(t, "c", string(v.Key()))
		require.False(t, v.Next(), "skipping c#4 hits the error")
		require.ErrorIs(t, v.Error(), boom)
		require.False(t, v.Valid())
		require.True(t, v.SeekGE([]byte("d")), "a positioning call clears the error")
		require.NoError(t, v.Error())
		require.False(t, v.Prev(), "the walk back from d reads c#4 first")
		require.ErrorIs(t, v.Error(), boom)
		require.ErrorIs(t, v.Close(), boom)
	})
	t.Run("backward", func(t *testing.T) {
		// Reading c backward needs c#5 after c#4; if that fails, the older value must not be
		// presented as c's newest.
		v := iterator.NewVisible(iterutil.NewSlice(icmp.Compare, entries).FailAt(3, boom), keys.Bytewise, 100, nil, nil)
		require.True(t, v.Last())
		require.Equal(t, "d", string(v.Key()))
		require.False(t, v.Prev(), "c4 was read, then c#5 failed")
		require.ErrorIs(t, v.Error(), boom)
		require.ErrorIs(t, v.Close(), boom)
	})
	t.Run("seek", func(t *testing.T) {
		v := iterator.NewVisible(iterutil.NewSlice(icmp.Compare, entries).FailAt(2, boom), keys.Bytewise, 100, nil, nil)
		require.False(t, v.SeekGE([]byte("b")))
		require.ErrorIs(t, v.Error(), boom)
		require.False(t, v.SeekLT([]byte("c")))
		require.ErrorIs(t, v.Error(), boom)
		require.True(t, v.SeekLT([]byte("b")))
		require.Equal(t, "a3", string(v.Value()))
	})
	t.Run("from a merged child", func(t *testing.T) {
		good := iterutil.NewSlice(icmp.Compare, entries)
		bad := iterutil.NewSlice(icmp.Compare, parseEntries(t, "bb#7,SET=x bc#8,SET=y")).FailAt(1, boom)
		v := iterator.NewVisible(iterator.NewMerging(icmp.Compare, good, bad), keys.Bytewise, 100, nil, nil)
		var seen []string
		for ok := v.First(); ok; ok = v.Next() {
			seen = append(seen, string(v.Key()))
		}
		require.Equal(t, []string{"a", "b", "bb"}, seen, "leaving bb steps its child onto bc, which fails")
		require.ErrorIs(t, v.Error(), boom)
		require.ErrorIs(t, v.Close(), boom)
		require.True(t, good.Closed())
		require.True(t, bad.Closed())
	})
}

func TestVisibleCorruptKey(t *testing.T) {
	short := iterutil.Entry{Key: []byte("bad"), Value: []byte("?")} // shorter than a trailer
	badKind := iterutil.Entry{Key: keys.AppendInternalKey(nil, []byte("b"), 5, keys.Kind(7)), Value: []byte("?")}
	for name, bad := range map[string]iterutil.Entry{"short": short, "unknown kind": badKind} {
		t.Run(name, func(t *testing.T) {
			entries := append(parseEntries(t, "a#1,SET=a"), parseEntries(t, "c#1,SET=c")...)
			entries = slices.Insert(entries, 1, bad)
			slices.SortFunc(entries, func(a, b iterutil.Entry) int { return icmp.Compare(a.Key, b.Key) })
			for _, script := range []string{"First Next", "Last Prev", "Last", "SeekGE(b)", "SeekLT(c) Prev", "First"} {
				v := iterator.NewVisible(iterutil.NewSlice(icmp.Compare, entries), keys.Bytewise, 100, nil, nil)
				var err error
				for _, op := range strings.Fields(script) {
					runOp(v, op)
					if err = v.Error(); err != nil {
						break
					}
				}
				if script == "First" || script == "Last" && name == "unknown kind" {
					// The first or last entry is good; the bad key is not reached.
					continue
				}
				require.ErrorIs(t, err, dberr.ErrCorruption, script)
				require.False(t, v.Valid())
				require.Contains(t, err.Error(), "malformed internal key")
			}
		})
	}
}

func runOp(it iterator.Iterator, op string) {
	switch op {
	case "First":
		it.First()
	case "Last":
		it.Last()
	case "Next":
		it.Next()
	case "Prev":
		it.Prev()
	case "SeekGE(b)":
		it.SeekGE([]byte("b"))
	case "SeekLT(c)":
		it.SeekLT([]byte("c"))
	}
}

// threeVersions returns three sources holding one version each of n keys, merged, as the DB
// sees a key rewritten in three memtables; the newest version is the visible one.
func threeVersions(tb testing.TB, n int, value []byte) iterator.Iterator {
	var its []iterator.Iterator
	for v := 0; v < 3; v++ {
		mt := memtable.New(keys.Bytewise, n*(memtable.EntrySize(16, len(value))+64))
		for i := 0; i < n; i++ {
			k := []byte(fmt.Sprintf("%016d", i))
			require.NoError(tb, mt.Add(keys.SeqNum(v*n+i+1), keys.KindSet, k, value))
		}
		its = append(its, mt.NewIterator())
	}
	return iterator.NewMerging(icmp.Compare, its...)
}

func TestVisibleAllocs(t *testing.T) {
	var its []iterator.Iterator
	for c := 0; c < 3; c++ {
		var es []iterutil.Entry
		for i := 0; i < 50; i++ {
			kind := keys.KindSet
			if (i+c)%5 == 0 {
				kind = keys.KindDelete
			}
			es = append(es, iterutil.Entry{
				Key:   keys.AppendInternalKey(nil, []byte(fmt.Sprintf("k%04d", i)), keys.SeqNum(3*i+c+1), kind),
				Value: []byte(fmt.Sprintf("value%d", i)),
			})
		}
		its = append(its, iterutil.NewSlice(icmp.Compare, es))
	}
	v := iterator.NewVisible(iterator.NewMerging(icmp.Compare, its...), keys.Bytewise, 1000, []byte("k0003"), []byte("k0045"))
	v.First()
	require.Zero(t, testing.AllocsPerRun(500, func() {
		if !v.Next() {
			v.First()
		}
	}), "Next")
	v.Last()
	require.Zero(t, testing.AllocsPerRun(500, func() {
		if !v.Prev() {
			v.Last()
		}
	}), "Prev")
	rng := rand.New(rand.NewPCG(2, 2))
	require.Zero(t, testing.AllocsPerRun(500, func() {
		var ok bool
		if rng.IntN(2) == 0 {
			ok = v.Next()
		} else {
			ok = v.Prev()
		}
		if !ok {
			v.SeekGE([]byte("k0020"))
		}
	}), "Next and Prev mixed")
}

func BenchmarkVisible(b *testing.B) {
	const n = 100_000
	value := bytes.Repeat([]byte("v"), 100)
	for _, dir := range []string{"Next", "Prev"} {
		b.Run("dir="+dir, func(b *testing.B) {
			v := iterator.NewVisible(threeVersions(b, n, value), keys.Bytewise, keys.MaxSeqNum, nil, nil)
			b.ReportAllocs()
			b.ResetTimer()
			if dir == "Next" {
				v.First()
				for i := 0; i < b.N; i++ {
					if !v.Next() {
						v.First()
					}
				}
			} else {
				v.Last()
				for i := 0; i < b.N; i++ {
					if !v.Prev() {
						v.Last()
					}
				}
			}
		})
	}
}
