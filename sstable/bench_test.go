package sstable

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
)

// Benchmarks on the workload of the issue: 1,000,000 entries of 16-byte random keys (sorted)
// and 100-byte values half of which compress (as db_bench generates them), snappy, bloom
// filter at 10 bits per key. Run briefly:
//
//	go test -run XXX -bench . -benchtime 1s ./sstable/

const (
	benchEntries  = 1_000_000
	benchKeyLen   = 16
	benchValueLen = 100
)

var benchData struct {
	once    sync.Once
	es      []kv
	absent  [][]byte
	table   []byte
	entries int
}

func benchSetup(b *testing.B) {
	benchData.once.Do(func() {
		rng := rand.New(rand.NewPCG(42, 42))
		// Keys and values live in one arena each, so the collector has few objects to scan.
		seen := make(map[string]bool, benchEntries)
		es := make([]kv, 0, benchEntries)
		karena := make([]byte, 0, benchEntries*benchKeyLen)
		varena := make([]byte, 0, benchEntries*benchValueLen)
		for len(es) < benchEntries {
			k := randBytesFull(rng, benchKeyLen)
			if seen[string(k)] {
				continue
			}
			seen[string(k)] = true
			karena = append(karena, k...)
			varena = append(varena, randValue(rng, benchValueLen)...)
			es = append(es, kv{k: karena[len(karena)-benchKeyLen:], v: varena[len(varena)-benchValueLen:]})
		}
		sortEntries(es, keys.Bytewise)
		for len(benchData.absent) < 100_000 {
			k := randBytesFull(rng, benchKeyLen)
			if !seen[string(k)] {
				benchData.absent = append(benchData.absent, k)
			}
		}
		benchData.es = es
		benchData.table, _ = buildTable(b, benchWriterOptions(), es)
		runtime.GC()
	})
}

func benchWriterOptions() WriterOptions {
	return WriterOptions{Compression: SnappyCompression, Filter: NewBloomPolicy(10)}
}

// benchReader opens the benchmark table from an OS file (mapped) with a cache that holds every
// block, warmed by one full scan.
func benchReader(b *testing.B) *Reader {
	benchSetup(b)
	r := writeFile(b, testFSes(b)[0], benchData.table, ReaderOptions{Filter: NewBloomPolicy(10), Cache: newMapCache()})
	it := r.NewIterator(ReadOptions{})
	for ok := it.First(); ok; ok = it.Next() {
	}
	if err := it.Close(); err != nil {
		b.Fatal(err)
	}
	runtime.GC() // collect the setup's garbage now, not while timing
	return r
}

// BenchmarkBuild writes the whole table per op; MB/s counts key and value bytes.
func BenchmarkBuild(b *testing.B) {
	benchSetup(b)
	runtime.GC()
	b.Run(fmt.Sprintf("entries=%d", benchEntries), func(b *testing.B) {
		b.SetBytes(int64(benchEntries * (benchKeyLen + benchValueLen)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var cw countingWriter
			w := NewWriter(&cw, benchWriterOptions())
			for _, e := range benchData.es {
				if err := w.Add(e.k, e.v); err != nil {
					b.Fatal(err)
				}
			}
			md, err := w.Finish()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(md.Size)/(1<<20), "file-MiB")
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchEntries), "ns/entry")
	})
}

// BenchmarkGet looks up present keys (every block cached) and absent keys (the filter path).
func BenchmarkGet(b *testing.B) {
	r := benchReader(b)
	rng := rand.New(rand.NewPCG(7, 7))
	b.Run("keys=present/cache=all", func(b *testing.B) {
		es := benchData.es
		buf := make([]byte, 0, 64)
		b.SetBytes(benchKeyLen + benchValueLen)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			e := es[rng.IntN(len(es))]
			if _, _, err := r.Get(buf[:0], e.k, ReadOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("keys=absent/cache=all", func(b *testing.B) {
		absent := benchData.absent
		buf := make([]byte, 0, 64)
		found := 0
		b.SetBytes(benchKeyLen)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			_, _, err := r.Get(buf[:0], absent[rng.IntN(len(absent))], ReadOptions{})
			if err == nil {
				found++ // the filter let it through and the block had a later key
			} else if err != dberr.ErrNotFound {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(found)/float64(b.N)*100, "%block-reads")
	})
}

// BenchmarkScan steps through the table (every block cached); ns/op is per entry.
func BenchmarkScan(b *testing.B) {
	r := benchReader(b)
	for _, dir := range []string{"forward", "reverse"} {
		b.Run("dir="+dir, func(b *testing.B) {
			it := r.NewIterator(ReadOptions{})
			defer it.Close()
			b.SetBytes(benchKeyLen + benchValueLen)
			b.ReportAllocs()
			b.ResetTimer()
			if dir == "forward" {
				it.First()
				for i := 0; i < b.N; i++ {
					if !it.Next() {
						it.First()
					}
				}
			} else {
				it.Last()
				for i := 0; i < b.N; i++ {
					if !it.Prev() {
						it.Last()
					}
				}
			}
		})
	}
}
