package iterator_test

import (
	"bytes"
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
	"github.com/stratadb/strata/internal/testutil/testcmp"
	"github.com/stratadb/strata/internal/testutil/testseed"
	"github.com/stratadb/strata/memtable"
)

var _ iterator.Iterator = (*iterator.Visible)(nil)

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
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 0x7669))
	for round := 0; round < iters(300); round++ {
		ucmp := keys.Bytewise
		if rng.IntN(4) == 0 {
			ucmp = testcmp.Reverse{}
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
	requireStepsAllocFree(t, v, 500, 2, []byte("k0020"))
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
