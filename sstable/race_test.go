package sstable

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/keys"
)

// TestReaderRace runs Gets and iterators from several goroutines on one Reader, mapped and
// not, with and without a cache; run it with -race.
func TestReaderRace(t *testing.T) {
	seed := newSeed(t)
	rng := rand.New(rand.NewPCG(seed, 10))
	n := 3000
	if raceEnabled {
		n = 1000
	}
	es := randomEntries(rng, n, keys.Bytewise, 100)
	for _, comp := range []Compression{SnappyCompression, NoCompression} {
		data, _ := buildTable(t, WriterOptions{Compression: comp, BlockSize: 1024, Filter: NewBloomPolicy(10)}, es)
		for _, tfs := range testFSes(t) {
			for _, cached := range []bool{false, true} {
				t.Run(fmt.Sprintf("comp=%s/fs=%s/cache=%t", comp, tfs.name, cached), func(t *testing.T) {
					ro := ReaderOptions{Filter: NewBloomPolicy(10)}
					if cached {
						ro.Cache = newMapCache()
					}
					r := writeFile(t, tfs, data, ro)
					var wg sync.WaitGroup
					errs := make(chan error, 8)
					for g := 0; g < 4; g++ {
						wg.Add(2)
						go func(g int) { // point lookups
							defer wg.Done()
							rng := rand.New(rand.NewPCG(seed, uint64(g)))
							var buf []byte
							for i := 0; i < 2000; i++ {
								e := es[rng.IntN(len(es))]
								k, v, err := r.Get(buf[:0], e.k, ReadOptions{VerifyChecksums: i%3 == 0, DontFillCache: i%5 == 0})
								if err != nil || !bytes.Equal(k, e.k) || !bytes.Equal(v, e.v) {
									errs <- fmt.Errorf("Get(%q) = %q, %v", e.k, k, err)
									return
								}
								buf = k
							}
						}(g)
						go func(g int) { // scans and seeks
							defer wg.Done()
							rng := rand.New(rand.NewPCG(seed, uint64(100+g)))
							it := r.NewIterator(ReadOptions{DontFillCache: g%2 == 0})
							defer it.Close()
							i := 0
							for ok := it.First(); ok; ok = it.Next() {
								if !bytes.Equal(it.Key(), es[i].k) {
									errs <- fmt.Errorf("forward %d: %q", i, it.Key())
									return
								}
								i++
							}
							for j := 0; j < 500; j++ {
								p := rng.IntN(len(es))
								if !it.SeekGE(es[p].k) || !bytes.Equal(it.Value(), es[p].v) {
									errs <- fmt.Errorf("SeekGE(%q)", es[p].k)
									return
								}
								if p > 0 && (!it.Prev() || !bytes.Equal(it.Key(), es[p-1].k)) {
									errs <- fmt.Errorf("Prev after SeekGE(%q)", es[p].k)
									return
								}
							}
							if err := it.Error(); err != nil {
								errs <- err
							}
						}(g)
					}
					wg.Wait()
					close(errs)
					for err := range errs {
						require.NoError(t, err)
					}
				})
			}
		}
	}
}
