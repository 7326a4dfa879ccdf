package sstable

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/keys"
)

// TestReadAhead: reading a table's blocks in order with ReadAt (a scan and a dense Getter
// batch, neither filling the cache) takes a few reads per hundred blocks, and gives the same
// answers as reading each block alone; going backwards, seeking about and a sparse batch read
// block by block, and are right too.
func TestReadAhead(t *testing.T) {
	rng := rand.New(rand.NewPCG(newSeed(t), 7))
	es := randomEntries(rng, 20000, keys.Bytewise, 100)
	for _, comp := range []Compression{NoCompression, SnappyCompression} {
		data, _ := buildTable(t, WriterOptions{Compression: comp, BlockSize: 1 << 10}, es)
		f := &countingFile{File: memFile(t, "t.ldb", data)}
		r, err := Open(f, "t.ldb", int64(len(data)), ReaderOptions{})
		require.NoError(t, err)
		blocks := len(r.index.ents)
		require.Greater(t, blocks, 500)
		ro := ReadOptions{DontFillCache: true}

		f.readAts.Store(0)
		it := r.NewIterator(ro)
		n := 0
		for ok := it.First(); ok; ok = it.Next() {
			require.True(t, bytes.Equal(es[n].k, it.Key()) && bytes.Equal(es[n].v, it.Value()), "entry %d", n)
			n++
		}
		require.NoError(t, it.Error())
		require.Equal(t, len(es), n)
		scanReads := f.readAts.Load()
		require.Less(t, scanReads, int64(blocks/8), "a forward scan of %d blocks", blocks)

		// Backwards: block by block, right.
		f.readAts.Store(0)
		for ok := it.Last(); ok; ok = it.Prev() {
			n--
			require.True(t, bytes.Equal(es[n].k, it.Key()) && bytes.Equal(es[n].v, it.Value()), "entry %d backwards", n)
		}
		require.NoError(t, it.Error())
		require.Zero(t, n)
		require.Greater(t, f.readAts.Load(), int64(blocks/2), "a backward scan reads block by block (but for the window left by the forward scan)")

		// Seeks about, then a scan from the middle: right after each jump.
		for range 200 {
			j := rng.IntN(len(es))
			require.True(t, it.SeekGE(es[j].k))
			require.True(t, bytes.Equal(es[j].k, it.Key()), "seek to %d", j)
			for k := j + 1; k < min(j+50, len(es)); k++ {
				require.True(t, it.Next())
				require.True(t, bytes.Equal(es[k].k, it.Key()) && bytes.Equal(es[k].v, it.Value()), "entry %d after a seek to %d", k, j)
			}
		}
		require.NoError(t, it.Close())

		// A dense Getter batch (every key) reads ahead; a sparse one (every 50th) is right too.
		for _, step := range []int{1, 50} {
			f.readAts.Store(0)
			var g Getter
			g.Reset(r, ro)
			for i := 0; i < len(es); i += step {
				k, v, err := g.Get(es[i].k)
				require.NoError(t, err)
				require.True(t, bytes.Equal(es[i].k, k) && bytes.Equal(es[i].v, v), "Getter entry %d, step %d", i, step)
			}
			if step == 1 {
				require.Less(t, f.readAts.Load(), int64(blocks/8), "a dense batch over %d blocks", blocks)
			}
			g.Release()
		}
		t.Logf("%s: %d blocks, a forward scan read %d times", comp, blocks, scanReads)
		require.NoError(t, r.Close())
	}
}
