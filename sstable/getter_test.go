package sstable

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
)

// runGetterSuite checks a Getter against Reader.Get on sorted batches of m's keys and probe
// keys: every key of the table with probes in between (dense: many keys per block), a sparse
// sample, and batches with duplicates, each answer equal to Reader.Get's. The table suite
// (TestHarnessTable) runs it over every option set. With a mapCache it also checks that a
// batch reads each block at most once.
func runGetterSuite(t *testing.T, rng *rand.Rand, m *model, r *Reader, ro ReadOptions) {
	t.Helper()
	dense := make([][]byte, 0, 2*len(m.es)+m.steps)
	for _, e := range m.es {
		dense = append(dense, e.k)
		if rng.IntN(3) == 0 {
			dense = append(dense, e.k) // a duplicate
		}
	}
	for i := 0; i < m.steps; i++ {
		dense = append(dense, m.probeKey(rng))
	}
	var sparse [][]byte
	for _, k := range dense {
		if rng.IntN(20) == 0 {
			sparse = append(sparse, k)
		}
	}
	var g Getter
	for _, batch := range [][][]byte{dense, sparse, nil} {
		slices.SortStableFunc(batch, m.cmp.Compare)
		g.Reset(r, ro)
		for _, key := range batch {
			k, v, err := g.Get(key)
			checkGetterAnswer(t, r, ro, r.filterKey, key, k, v, err)
		}
	}
	// Block reads, measured without Reader.Get in between: at most one per block per batch.
	if mc, ok := r.cache.(*mapCache); ok {
		before := mc.gets.Load()
		g.Reset(r, ro)
		for _, key := range dense {
			if _, _, err := g.Get(key); err != nil && !errors.Is(err, dberr.ErrNotFound) {
				require.NoError(t, err)
			}
		}
		require.LessOrEqual(t, mc.gets.Load()-before, int64(r.NumBlocks()), "a sorted batch reads each block at most once")
	}
	g.Release()
}

// checkGetterAnswer requires a Getter's answer for key to be Reader.Get's, or, where the filter
// ruled the key out (contract 6), the answer of the block searched without the filter.
// userKey gives the part of a key the filter covers (FilterKey).
func checkGetterAnswer(t *testing.T, r *Reader, ro ReadOptions, userKey func([]byte) []byte, key, k, v []byte, err error) {
	t.Helper()
	wk, wv, werr := r.Get(nil, key, ro)
	if errors.Is(werr, dberr.ErrNotFound) && !errors.Is(err, dberr.ErrNotFound) {
		wk, wv, werr = r.get(nil, key, ro, false)
		require.NotEqual(t, string(userKey(key)), string(userKey(k)), "a key the filter rules out is not in the table")
	}
	require.Equal(t, werr, err, "Getter.Get(%q)", trunc(key))
	require.True(t, bytes.Equal(wk, k), "Getter.Get(%q) key %q, want %q", trunc(key), trunc(k), trunc(wk))
	require.True(t, bytes.Equal(wv, v), "Getter.Get(%q) value", trunc(key))
}

// TestGetterInternalKeys looks up DB-style tables (internal keys, a filter over user keys,
// several versions of each user key, some deleted) at several sequence numbers, in sorted
// batches, as the DB's batched lookup does.
func TestGetterInternalKeys(t *testing.T) {
	ic := keys.NewInternalComparator(keys.Bytewise)
	rng := rand.New(rand.NewPCG(newSeed(t), 4))
	var es []kv
	for u := 0; u < 2000; u++ {
		user := []byte(fmt.Sprintf("user%05d", u*2))
		for seq := 9; seq >= 1; seq -= 1 + rng.IntN(4) {
			kind := keys.KindSet
			if rng.IntN(4) == 0 {
				kind = keys.KindDelete
			}
			es = append(es, kv{k: keys.AppendInternalKey(nil, user, keys.SeqNum(seq), kind), v: []byte(fmt.Sprintf("v%d.%d", u, seq))})
		}
	}
	filter := NewBloomPolicy(10)
	for _, bs := range []int{128, 4 << 10} {
		data, _ := buildTable(t, WriterOptions{Comparator: ic, Filter: filter, FilterKey: keys.UserKey, BlockSize: bs}, es)
		for _, tfs := range testFSes(t) {
			r := writeFile(t, tfs, data, ReaderOptions{Comparator: ic, Filter: filter, FilterKey: keys.UserKey, Cache: newMapCache()})
			var g Getter
			for seq := keys.SeqNum(0); seq <= 10; seq++ {
				g.Reset(r, ReadOptions{})
				for u := 0; u < 4000; u += 1 + rng.IntN(3) {
					lookup := keys.AppendInternalKey(nil, []byte(fmt.Sprintf("user%05d", u)), seq, keys.KindMax)
					k, v, err := g.Get(lookup)
					checkGetterAnswer(t, r, ReadOptions{}, keys.UserKey, lookup, k, v, err)
				}
			}
		}
	}
}

// TestGetterDamage: a damaged block gives a corruption error naming the file, in both read
// paths, and a Getter Reset after it reads the good block again.
func TestGetterDamage(t *testing.T) {
	d, _ := tableWithBadSecondBlock()
	for _, kind := range variants {
		r, err := openVariant(t, kind, "many.ldb", d, int64(len(d)), ReaderOptions{})
		require.NoError(t, err)
		var g Getter
		g.Reset(r, ReadOptions{})
		_, v, err := g.Get([]byte("b"))
		require.NoError(t, err)
		require.Equal(t, "2", string(v))
		_, _, err = g.Get([]byte("c0"))
		requireCorrupt(t, err, "many.ldb", "checksum")
		g.Reset(r, ReadOptions{})
		_, v, err = g.Get([]byte("a"))
		require.NoError(t, err)
		require.Equal(t, "1", string(v))
	}
}

func TestGetterClosed(t *testing.T) {
	data, _ := buildTable(t, WriterOptions{}, []kv{{[]byte("a"), []byte("1")}})
	for _, tfs := range testFSes(t) {
		r := writeFile(t, tfs, data, ReaderOptions{})
		var g Getter
		g.Reset(r, ReadOptions{})
		_, _, err := g.Get([]byte("a"))
		require.NoError(t, err)
		require.NoError(t, r.Close())
		_, _, err = g.Get([]byte("a"))
		require.ErrorIs(t, err, dberr.ErrClosed)
	}
}

// TestGetterEmptyBlocks: a table whose data blocks hold no entries answers not found, without
// an error, for keys before, in and after them.
func TestGetterEmptyBlocks(t *testing.T) {
	var rt rawTable
	empty1 := rt.block(emptyBlock(), typeNone)
	good := rt.block(goodBlock(), typeNone)
	empty2 := rt.block(emptyBlock(), typeNone)
	mh := rt.block(emptyBlock(), typeNone)
	ih := rt.block(indexFor([]string{"0", "c", "z"}, []BlockHandle{empty1, good, empty2}), typeNone)
	d := Footer{Metaindex: mh, Index: ih}.appendTo(rt.buf)
	for _, kind := range variants {
		r, err := openVariant(t, kind, "empty.ldb", d, int64(len(d)), ReaderOptions{})
		require.NoError(t, err)
		var g Getter
		g.Reset(r, ReadOptions{})
		for _, c := range []struct{ key, want string }{{"", ""}, {"0", ""}, {"00", "a"}, {"b", "b"}, {"c", "c"}, {"d", ""}, {"zz", ""}} {
			wk, _, werr := r.Get(nil, []byte(c.key), ReadOptions{})
			k, _, err := g.Get([]byte(c.key))
			require.Equal(t, werr, err, "Get(%q)", c.key)
			require.Equal(t, c.want, string(k), "Get(%q)", c.key)
			require.Equal(t, string(wk), string(k), "Get(%q)", c.key)
			if c.want == "" {
				require.ErrorIs(t, err, dberr.ErrNotFound, "Get(%q)", c.key)
			}
		}
	}
}

// A sorted batch allocates nothing per key once the blocks are cached (compressed tables) or
// mapped (uncompressed tables), nor per batch once the Getter's buffers have grown.
func TestGetterAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	rng := rand.New(rand.NewPCG(10, 10))
	es := make([]kv, 0, 5000)
	for i := 0; i < cap(es); i++ {
		es = append(es, kv{k: randBytesFull(rng, 16), v: randValue(rng, 100)})
	}
	sortEntries(es, keys.Bytewise)
	batch := make([][]byte, 0, 2*len(es))
	for i, e := range es {
		batch = append(batch, e.k)
		if i%3 == 0 {
			batch = append(batch, randBytesFull(rng, 16)) // mostly absent
		}
	}
	slices.SortFunc(batch, bytes.Compare)
	for _, comp := range []Compression{SnappyCompression, NoCompression} {
		data, _ := buildTable(t, WriterOptions{Compression: comp, Filter: NewBloomPolicy(10)}, es)
		r := writeFile(t, testFSes(t)[0], data, ReaderOptions{Filter: NewBloomPolicy(10), Cache: newMapCache()})
		var g Getter
		pass := func() {
			g.Reset(r, ReadOptions{})
			for _, k := range batch {
				if _, _, err := g.Get(k); err != nil && err != dberr.ErrNotFound {
					t.Fatal(err)
				}
			}
		}
		pass()
		require.Zero(t, testing.AllocsPerRun(5, pass), "compression %s", comp)
	}
}
