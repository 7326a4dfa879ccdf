package sstable

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
)

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
