package bench

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/syndtr/goleveldb/leveldb/comparer"
	"github.com/syndtr/goleveldb/leveldb/memdb"

	"github.com/stratadb/strata/internal/benchgen"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/memtable"
)

// memTable is what the memtable benchmarks need of an engine's in-memory table.
type memTable interface {
	put(key, value []byte) error
	get(key []byte) bool
}

type memEngine struct {
	name string
	make func(entries int) memTable
}

var memEngines = []memEngine{
	{"strata", func(n int) memTable {
		return &strataMem{m: memtable.New(keys.Bytewise, n*memtable.EntrySize(16, 100))}
	}},
	{"goleveldb", func(n int) memTable {
		return goleveldbMem{memdb.New(comparer.DefaultComparer, n*(16+100))}
	}},
}

// strataMem stores each put under the next sequence number, as the DB does.
type strataMem struct {
	m   *memtable.MemTable
	seq keys.SeqNum
}

func (s *strataMem) put(k, v []byte) error {
	s.seq++
	return s.m.Add(s.seq, keys.KindSet, k, v)
}

func (s *strataMem) get(k []byte) bool {
	_, res := s.m.Get(k, keys.MaxSeqNum)
	return res == memtable.Found
}

type goleveldbMem struct{ db *memdb.DB }

func (g goleveldbMem) put(k, v []byte) error { return g.db.Put(k, v) }

func (g goleveldbMem) get(k []byte) bool {
	_, err := g.db.Get(k)
	return err == nil
}

// memSizes: what a 4 MiB memtable holds with 16-byte keys and 100-byte values, and a large table
// where cache misses dominate.
var memSizes = []int{30_000, 1_000_000}

// formatKeys returns db_bench's keys (16 decimal digits, benchgen.FormatKey) numbered nums, in
// that order: every bench/ workload uses db_bench's keys.
func formatKeys(nums []int32, scale, offset int) [][]byte {
	ks := make([][]byte, len(nums))
	buf := make([]byte, benchgen.KeySize*len(nums))
	for i, k := range nums {
		ks[i] = benchgen.FormatKey(buf[i*benchgen.KeySize:i*benchgen.KeySize:(i+1)*benchgen.KeySize], int(k)*scale+offset)
	}
	return ks
}

// memValue is the value of every memtable entry.
var memValue = make([]byte, 100)

// runMem runs bench as a sub-benchmark entries=N/engine=NAME for every size and engine, with
// N keys in a random order.
func runMem(b *testing.B, bench func(b *testing.B, e memEngine, ks [][]byte)) {
	for _, n := range memSizes {
		ks := formatKeys(benchgen.Permutation(n, 1), 1, 0)
		for _, e := range memEngines {
			b.Run(fmt.Sprintf("entries=%d/engine=%s", n, e.name), func(b *testing.B) { bench(b, e, ks) })
		}
	}
}

// BenchmarkMemtablePut fills a fresh table with entries 16-byte keys and 100-byte values,
// over and over; the timer stops while a fresh table is made.
func BenchmarkMemtablePut(b *testing.B) {
	runMem(b, func(b *testing.B, e memEngine, ks [][]byte) {
		var t memTable
		b.ReportAllocs()
		b.SetBytes(16 + 100)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			j := i % len(ks)
			if j == 0 {
				b.StopTimer()
				t = e.make(len(ks))
				b.StartTimer()
			}
			if err := t.put(ks[j], memValue); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkMemtableGet looks up present keys in random order in a table of entries.
func BenchmarkMemtableGet(b *testing.B) {
	runMem(b, func(b *testing.B, e memEngine, ks [][]byte) {
		t := e.make(len(ks))
		for _, k := range ks {
			if err := t.put(k, memValue); err != nil {
				b.Fatal(err)
			}
		}
		rng := rand.New(rand.NewPCG(2, 2))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if !t.get(ks[rng.IntN(len(ks))]) {
				b.Fatal("missing key")
			}
		}
	})
}
