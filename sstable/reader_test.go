package sstable

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
)

// TestInternalKeyTable writes a DB-style table (internal keys, filter over user keys) and
// looks keys up the way the DB does: with (user key, seq, KindMax).
func TestInternalKeyTable(t *testing.T) {
	ic := keys.NewInternalComparator(keys.Bytewise)
	var es []kv
	for u := 0; u < 500; u++ {
		user := []byte(fmt.Sprintf("user%05d", u*2))
		for seq := 5; seq >= 1; seq -= 2 { // seqs 5, 3, 1: newest first
			kind := keys.KindSet
			if seq == 3 {
				kind = keys.KindDelete
			}
			es = append(es, kv{k: keys.AppendInternalKey(nil, user, keys.SeqNum(seq+u*10), kind), v: []byte(fmt.Sprintf("v%d", seq))})
		}
	}
	filter := NewBloomPolicy(10)
	data, md := buildTable(t, WriterOptions{Comparator: ic, Filter: filter, FilterKey: keys.UserKey, BlockSize: 256}, es)
	require.Equal(t, "user00000#5,SET", keys.FormatInternalKey(md.Smallest))
	for _, tfs := range testFSes(t) {
		r := writeFile(t, tfs, data, ReaderOptions{Comparator: ic, Filter: filter, FilterKey: keys.UserKey})
		require.Greater(t, r.NumBlocks(), 10)
		// The index keys are shortened internal keys: a user key and MaxTrailer.
		shortened := 0
		for _, ie := range r.Layout().Index {
			if keys.TrailerOf(ie.Separator) == keys.MaxTrailer {
				shortened++
			}
		}
		require.Positive(t, shortened)

		var buf []byte
		for u := 0; u < 500; u++ {
			user := []byte(fmt.Sprintf("user%05d", u*2))
			// At seq 4+u*10 the newest visible entry is the deletion at 3+u*10.
			lookup := keys.AppendInternalKey(nil, user, keys.SeqNum(4+u*10), keys.KindMax)
			k, v, err := r.Get(buf[:0], lookup, ReadOptions{})
			require.NoError(t, err)
			pk, ok := keys.Parse(k)
			require.True(t, ok)
			require.Equal(t, user, pk.UserKey)
			require.Equal(t, keys.SeqNum(3+u*10), pk.Seq)
			require.Equal(t, keys.KindDelete, pk.Kind)
			require.Equal(t, "v3", string(v))
			buf = k

			// An absent user key is ruled out by the filter almost always.
			absent := keys.AppendInternalKey(nil, []byte(fmt.Sprintf("user%05d", u*2+1)), 100000, keys.KindMax)
			k, _, err = r.Get(nil, absent, ReadOptions{})
			if err == nil {
				require.NotEqual(t, keys.UserKey(absent), keys.UserKey(k))
			}
			// The filter holds user keys, not internal keys.
			j := r.index.seekGE(&r.ord, lookup)
			require.True(t, r.filter.mayContain(r.index.ents[j].h.Offset, user))
		}
		runIterSuite(t, rand.New(rand.NewPCG(1, 2)), &model{es: es, cmp: ic, steps: 300}, r.NewIterator(ReadOptions{}))
	}
}

// legacyBloom writes the same bits under goleveldb's older filter name.
type legacyBloom struct{ FilterPolicy }

func (legacyBloom) Name() string { return "leveldb.BuiltinBloomFilter" }

type otherFilter struct{ FilterPolicy }

func (otherFilter) Name() string { return "strata.test.OtherFilter" }

func TestFilterNames(t *testing.T) {
	es := []kv{{[]byte("a"), []byte("1")}, {[]byte("c"), []byte("3")}}
	bloom := NewBloomPolicy(10)
	for _, c := range []struct {
		name       string
		written    FilterPolicy
		read       FilterPolicy
		wantFilter string
	}{
		{"bloom2", bloom, bloom, BloomFilterName},
		{"goleveldb legacy name", legacyBloom{bloom}, bloom, "leveldb.BuiltinBloomFilter"},
		{"other policy ignored", otherFilter{bloom}, bloom, ""},
		{"reader without filter", bloom, nil, ""},
		{"table without filter", nil, bloom, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			data, _ := buildTable(t, WriterOptions{Filter: c.written}, es)
			r, err := openBytes(t, "f.ldb", data, ReaderOptions{Filter: c.read})
			require.NoError(t, err)
			l := r.Layout()
			require.Equal(t, c.wantFilter, l.FilterName)
			require.Equal(t, c.wantFilter != "", r.hasFilter())
			if c.written != nil {
				require.Len(t, l.Metaindex, 1)
				require.Equal(t, "filter."+c.written.Name(), l.Metaindex[0].Name)
			} else {
				require.Empty(t, l.Metaindex)
			}
			_, v, err := r.Get(nil, []byte("c"), ReadOptions{})
			require.NoError(t, err)
			require.Equal(t, "3", string(v))
			// "b" is absent: with a filter it is ruled out; without, the block has "c" after it.
			k, _, err := r.Get(nil, []byte("b"), ReadOptions{})
			if c.wantFilter != "" {
				require.ErrorIs(t, err, dberr.ErrNotFound)
			} else {
				require.NoError(t, err)
				require.Equal(t, "c", string(k))
			}
		})
	}
}

func TestApproximateOffsetOf(t *testing.T) {
	var es []kv
	for i := 0; i < 100; i++ {
		es = append(es, kv{k: []byte(fmt.Sprintf("k%03d", i)), v: bytes.Repeat([]byte{byte(i)}, 1000)})
	}
	data, _ := buildTable(t, WriterOptions{Compression: NoCompression, BlockSize: 4096}, es)
	r, err := openBytes(t, "approx.ldb", data, ReaderOptions{})
	require.NoError(t, err)
	l := r.Layout()
	require.Equal(t, uint64(0), r.ApproximateOffsetOf([]byte("")))
	require.Equal(t, uint64(0), r.ApproximateOffsetOf([]byte("k000")))
	prev := uint64(0)
	for i, e := range es {
		off := r.ApproximateOffsetOf(e.k)
		require.GreaterOrEqual(t, off, prev)
		// Each 1 KiB entry lies about i KiB into the file; blocks hold four or five of them.
		require.InDelta(t, float64(i*1010), float64(off), 5*1010, "key %s", e.k)
		prev = off
	}
	require.Equal(t, l.Footer.Metaindex.Offset, r.ApproximateOffsetOf([]byte("z")), "past the last key: where the data ends")
	require.Greater(t, l.Footer.Metaindex.Offset, uint64(100*1000))
}

func TestCacheUse(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	es := randomEntries(rng, 2000, keys.Bytewise, 100)
	data, _ := buildTable(t, WriterOptions{Compression: SnappyCompression}, es)
	for _, tfs := range testFSes(t) {
		t.Run(tfs.name, func(t *testing.T) {
			cache := newMapCache()
			r := writeFile(t, tfs, data, ReaderOptions{Cache: cache})
			it := r.NewIterator(ReadOptions{DontFillCache: true})
			for ok := it.First(); ok; ok = it.Next() {
			}
			require.NoError(t, it.Close())
			require.Zero(t, cache.sets.Load(), "DontFillCache leaves the cache alone")
			for _, e := range es {
				_, _, err := r.Get(nil, e.k, ReadOptions{})
				require.NoError(t, err)
			}
			sets := cache.sets.Load()
			require.Positive(t, sets, "compressed blocks are cached")
			require.LessOrEqual(t, sets, int64(r.NumBlocks()))
			hits := cache.hits.Load()
			for _, e := range es {
				_, _, err := r.Get(nil, e.k, ReadOptions{VerifyChecksums: true})
				require.NoError(t, err)
			}
			require.Equal(t, sets, cache.sets.Load(), "nothing is read twice")
			if r.Mapped() {
				// Uncompressed blocks (where snappy did not pay) come from the mapping.
				require.Greater(t, cache.hits.Load(), hits)
			} else {
				require.Equal(t, hits+int64(len(es)), cache.hits.Load())
			}
		})
	}
}

// TestVerifyChecksumsOnMapping: an uncompressed block served from a mapping is checked on
// first use, and again on every use with VerifyChecksums.
func TestVerifyChecksumsOnMapping(t *testing.T) {
	es := []kv{{[]byte("a"), []byte("value-a")}, {[]byte("b"), []byte("value-b")}}
	data, _ := buildTable(t, WriterOptions{Compression: NoCompression}, es)
	r, err := openVariant(t, "mapped", "v.ldb", data, int64(len(data)), ReaderOptions{})
	require.NoError(t, err)
	_, v, err := r.Get(nil, []byte("a"), ReadOptions{})
	require.NoError(t, err)
	require.Equal(t, "value-a", string(v))
	// Damage the mapped bytes behind the Reader's back (a file changed under a mapping).
	i := bytes.Index(data, []byte("value-b"))
	data[i] = 'V'
	_, _, err = r.Get(nil, []byte("b"), ReadOptions{VerifyChecksums: true})
	requireCorrupt(t, err, "v.ldb", "checksum mismatch")
	_, v, err = r.Get(nil, []byte("b"), ReadOptions{})
	require.NoError(t, err, "without VerifyChecksums a block already checked is trusted")
	require.Equal(t, "Value-b", string(v))
}

func TestReaderClosed(t *testing.T) {
	data, _ := buildTable(t, WriterOptions{}, []kv{{[]byte("a"), []byte("1")}})
	for _, tfs := range testFSes(t) {
		r := writeFile(t, tfs, data, ReaderOptions{})
		it := r.NewIterator(ReadOptions{})
		require.True(t, it.First())
		require.NoError(t, r.Close())
		_, _, err := r.Get(nil, []byte("a"), ReadOptions{})
		require.ErrorIs(t, err, dberr.ErrClosed)
		require.False(t, it.SeekGE([]byte("a")))
		require.ErrorIs(t, it.Error(), dberr.ErrClosed)
		require.ErrorIs(t, it.Close(), dberr.ErrClosed)
		require.NoError(t, it.Close(), "closing twice")
		it2 := r.NewIterator(ReadOptions{})
		require.False(t, it2.First())
		require.True(t, errors.Is(it2.Error(), dberr.ErrClosed))
	}
}

// TestIteratorErrorReset: an error makes the iterator invalid until the next positioning
// call, which clears it (iterator contract 4).
func TestIteratorErrorReset(t *testing.T) {
	d, _ := tableWithBadSecondBlock()
	for _, kind := range variants {
		r, err := openVariant(t, kind, "reset.ldb", d, int64(len(d)), ReaderOptions{})
		require.NoError(t, err)
		it := r.NewIterator(ReadOptions{})
		require.False(t, it.Last())
		requireCorrupt(t, it.Error(), "reset.ldb", "checksum")
		require.True(t, it.First())
		require.NoError(t, it.Error())
		require.Equal(t, "a", string(it.Key()))
		require.True(t, it.Next())
		require.True(t, it.Next())
		require.False(t, it.Next(), "moving into the bad block")
		requireCorrupt(t, it.Error(), "reset.ldb", "checksum")
		require.True(t, it.SeekLT([]byte("b")))
		require.Equal(t, "a", string(it.Key()))
		require.NoError(t, it.Close(), "the seek cleared the error")
	}
}

// Point lookups and iterator steps allocate nothing once blocks are cached (compressed
// tables) or mapped (uncompressed tables).
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	rng := rand.New(rand.NewPCG(8, 8))
	es := make([]kv, 0, 5000)
	for i := 0; i < cap(es); i++ {
		es = append(es, kv{k: randBytesFull(rng, 16), v: randValue(rng, 100)})
	}
	sortEntries(es, keys.Bytewise)
	absent := make([][]byte, 1000)
	for i := range absent {
		absent[i] = randBytesFull(rng, 16)
	}
	for _, c := range []struct {
		name string
		comp Compression
	}{
		{"snappy-cached", SnappyCompression},
		{"none-mapped", NoCompression},
	} {
		t.Run(c.name, func(t *testing.T) {
			data, _ := buildTable(t, WriterOptions{Compression: c.comp, Filter: NewBloomPolicy(10)}, es)
			tfs := testFSes(t)[0] // the OS: mapped
			r := writeFile(t, tfs, data, ReaderOptions{Filter: NewBloomPolicy(10), Cache: newMapCache()})
			require.True(t, r.Mapped())
			// Warm up: every block read (and checked) once.
			it := r.NewIterator(ReadOptions{})
			n := 0
			for ok := it.First(); ok; ok = it.Next() {
				n++
			}
			require.Equal(t, len(es), n)
			for _, e := range es {
				_, _, err := r.Get(nil, e.k, ReadOptions{})
				require.NoError(t, err)
			}

			buf := make([]byte, 0, 64)
			i := 0
			allocs := testing.AllocsPerRun(2000, func() {
				e := es[i%len(es)]
				i += 7
				k, _, err := r.Get(buf[:0], e.k, ReadOptions{})
				if err != nil || len(k) != len(e.k) {
					t.Fatal("Get failed", err)
				}
			})
			require.Zero(t, allocs, "Get of a present key")

			allocs = testing.AllocsPerRun(2000, func() {
				_, _, err := r.Get(buf[:0], absent[i%len(absent)], ReadOptions{})
				i++
				if err != nil && err != dberr.ErrNotFound {
					t.Fatal(err)
				}
			})
			require.Zero(t, allocs, "Get of an absent key")

			require.True(t, it.First())
			allocs = testing.AllocsPerRun(len(es)-10, func() {
				if !it.Next() {
					t.Fatal("Next")
				}
			})
			require.Zero(t, allocs, "Next")

			require.True(t, it.Last())
			allocs = testing.AllocsPerRun(len(es)-10, func() {
				if !it.Prev() {
					t.Fatal("Prev")
				}
			})
			require.Zero(t, allocs, "Prev")

			allocs = testing.AllocsPerRun(2000, func() {
				it.SeekGE(es[i%len(es)].k)
				it.SeekLT(es[(i*3)%len(es)].k)
				i++
			})
			require.Zero(t, allocs, "SeekGE and SeekLT")
			require.NoError(t, it.Close())
		})
	}
}

// Iterators that do not fill the cache reuse their buffers: a compaction-style scan of a
// compressed table read with ReadAt allocates nothing per block once the buffers have grown.
func TestAllocsScanDontFillCache(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	rng := rand.New(rand.NewPCG(9, 9))
	es := randomEntries(rng, 3000, keys.Bytewise, 200)
	data, _ := buildTable(t, WriterOptions{Compression: SnappyCompression}, es)
	r := writeFile(t, testFSes(t)[1], data, ReaderOptions{})
	require.False(t, r.Mapped())
	it := r.NewIterator(ReadOptions{DontFillCache: true})
	for ok := it.First(); ok; ok = it.Next() {
	}
	allocs := testing.AllocsPerRun(3, func() {
		for ok := it.First(); ok; ok = it.Next() {
		}
	})
	require.Zero(t, allocs)
	require.NoError(t, it.Close())
}

// Checking a block allocates nothing once the key buffer it is handed has grown to the block's
// keys. (It used to allocate for every key that shares a prefix with the one before it: the key
// was rebuilt past the end of the previous one, where the buffer had no room.)
func TestAllocsCheckBlock(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	bw := newBlockWriter(16)
	for i := 0; i < 200; i++ {
		bw.add([]byte(fmt.Sprintf("a-common-prefix-of-some-length/%06d", i)), []byte("v"))
	}
	data := append([]byte(nil), bw.finish()...)
	ord := newOrder(keys.Bytewise)
	n, kbuf, err := checkBlock(data, &ord, "block", 0, nil)
	require.NoError(t, err)
	require.Equal(t, 200, n)
	allocs := testing.AllocsPerRun(20, func() {
		if _, kbuf, err = checkBlock(data, &ord, "block", 0, kbuf); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
}

// MemoryUsage counts the decoded index and the filter: a table with a filter holds that much
// more, and a larger table more than a smaller one. A filter read in place from a mapped file is
// not heap memory and is not counted.
func TestReaderMemoryUsage(t *testing.T) {
	entries := func(n int) []kv {
		var es []kv
		for i := range n {
			es = append(es, kv{k: fmt.Appendf(nil, "key%06d", i), v: []byte("value")})
		}
		return es
	}
	for _, tfs := range testFSes(t) {
		usage := func(n int, filter bool) int {
			wo := WriterOptions{BlockSize: 1 << 10}
			ro := ReaderOptions{}
			if filter {
				wo.Filter, ro.Filter = NewBloomPolicy(10), NewBloomPolicy(10)
			}
			data, _ := buildTable(t, wo, entries(n))
			r := writeFile(t, tfs, data, ro)
			defer r.Close()
			if filter {
				_, _, err := r.Get(nil, []byte("key000000x"), ReadOptions{})
				require.ErrorIs(t, err, dberr.ErrNotFound, tfs.name)
				require.Equal(t, tfs.name == "os", r.filterMapped(), tfs.name)
			}
			return r.MemoryUsage()
		}
		small, big := usage(1000, false), usage(10000, false)
		require.Positive(t, small, tfs.name)
		require.Greater(t, big, 5*small, "%s: the index grows with the table", tfs.name)
		withFilter := usage(10000, true)
		if tfs.name == "os" {
			require.Less(t, withFilter-big, 64, "the filter of a mapped file is read in place (its metaindex entry counts)")
		} else {
			require.GreaterOrEqual(t, withFilter-big, 10000*10/8, "a 10-bit filter of 10,000 keys")
		}
	}
}
