package bench

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	lcache "github.com/syndtr/goleveldb/leveldb/cache"
	"github.com/syndtr/goleveldb/leveldb/filter"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/storage"
	ltable "github.com/syndtr/goleveldb/leveldb/table"

	"github.com/stratadb/strata/internal/benchgen"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/sstable/cache"
	"github.com/stratadb/strata/vfs"
)

// The table workload: 1,000,000 sorted db_bench keys (the even numbers; the odd ones are the
// absent keys), 100-byte values of which snappy keeps about half (db_bench's generator), 4 KiB
// blocks, snappy, a 10-bit bloom filter; every lookup and scan runs with all blocks cached.
const tableEntries = 1_000_000

type tableData struct {
	keys   [][]byte
	values [][]byte
	absent [][]byte
}

var tableDataOnce *tableData

func loadTableData() *tableData {
	if tableDataOnce != nil {
		return tableDataOnce
	}
	nums := make([]int32, tableEntries)
	for i := range nums {
		nums[i] = int32(i)
	}
	d := &tableData{keys: formatKeys(nums, 2, 0), absent: formatKeys(benchgen.Permutation(100_000, 8), 2, 1)}
	gen := benchgen.NewValueGenerator(0.5)
	buf := make([]byte, 0, tableEntries*100)
	d.values = make([][]byte, tableEntries)
	for i := range d.values {
		buf = append(buf, gen.Generate(100)...)
		d.values[i] = buf[len(buf)-100:]
	}
	tableDataOnce = d
	return d
}

// tableEngine is what the table benchmarks need of an engine's table format.
type tableEngine interface {
	build(w io.Writer, d *tableData) error
	open(path string) (tableReader, error)
}

type tableReader interface {
	get(key []byte) bool // reports whether key is present
	scan(reverse bool) int
	close()
}

var tableEngines = []struct {
	name string
	e    tableEngine
}{
	{"strata", strataTables{}},
	{"goleveldb", goleveldbTables{}},
}

type strataTables struct{}

func (strataTables) build(w io.Writer, d *tableData) error {
	tw := sstable.NewWriter(w, sstable.WriterOptions{Filter: sstable.NewBloomPolicy(10)})
	for i, k := range d.keys {
		if err := tw.Add(k, d.values[i]); err != nil {
			return err
		}
	}
	_, err := tw.Finish()
	return err
}

type strataReader struct {
	f   vfs.File
	r   *sstable.Reader
	buf []byte
}

func (strataTables) open(path string) (tableReader, error) {
	f, err := vfs.NewOS().Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	r, err := sstable.Open(f, path, st.Size(), sstable.ReaderOptions{
		Filter: sstable.NewBloomPolicy(10), Cache: cache.NewBlockCache(1 << 30), FileNum: 1,
	})
	if err != nil {
		return nil, err
	}
	return &strataReader{f: f, r: r}, nil
}

func (s *strataReader) get(key []byte) bool {
	k, _, err := s.r.Get(s.buf[:0], key, sstable.ReadOptions{})
	if k != nil {
		s.buf = k[:0]
	}
	return err == nil && bytes.Equal(k, key)
}

func (s *strataReader) scan(reverse bool) int {
	it := s.r.NewIterator(sstable.ReadOptions{})
	defer it.Close()
	return countEntries(it, reverse)
}

// stepper is the part of an iterator a scan uses; Strata's and goleveldb's have it.
type stepper interface {
	First() bool
	Last() bool
	Next() bool
	Prev() bool
}

// countEntries moves it over every entry, forward or backward, and returns how many there are.
func countEntries(it stepper, reverse bool) int {
	n := 0
	if reverse {
		for ok := it.Last(); ok; ok = it.Prev() {
			n++
		}
	} else {
		for ok := it.First(); ok; ok = it.Next() {
			n++
		}
	}
	return n
}

func (s *strataReader) close() { s.r.Close(); s.f.Close() }

type goleveldbTables struct{}

func goleveldbOptions() *opt.Options {
	return &opt.Options{BlockSize: 4096, Compression: opt.SnappyCompression, Filter: filter.NewBloomFilter(10)}
}

func (goleveldbTables) build(w io.Writer, d *tableData) error {
	tw := ltable.NewWriter(w, goleveldbOptions(), nil, 0)
	for i, k := range d.keys {
		if err := tw.Append(k, d.values[i]); err != nil {
			return err
		}
	}
	return tw.Close()
}

type goleveldbReader struct {
	f *os.File
	r *ltable.Reader
}

func (goleveldbTables) open(path string) (tableReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	c := lcache.NewCache(lcache.NewLRU(1 << 30))
	r, err := ltable.NewReader(f, st.Size(), storage.FileDesc{Type: storage.TypeTable, Num: 1},
		&lcache.NamespaceGetter{Cache: c, NS: 1}, nil, goleveldbOptions())
	if err != nil {
		return nil, err
	}
	return &goleveldbReader{f: f, r: r}, nil
}

func (g *goleveldbReader) get(key []byte) bool {
	k, _, err := g.r.Find(key, true, nil)
	return err == nil && bytes.Equal(k, key)
}

func (g *goleveldbReader) scan(reverse bool) int {
	it := g.r.NewIterator(nil, nil)
	defer it.Release()
	return countEntries(it, reverse)
}

func (g *goleveldbReader) close() { g.r.Release(); g.f.Close() }

// buildTableFile writes the workload's table with e under dir and returns its path.
func buildTableFile(tb testing.TB, e tableEngine, dir string) string {
	path := filepath.Join(dir, "table.ldb")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := e.build(f, loadTableData()); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkTableBuild writes the 1,000,000-entry table to a file (page cache; no sync).
func BenchmarkTableBuild(b *testing.B) {
	d := loadTableData()
	for _, e := range tableEngines {
		b.Run("engine="+e.name, func(b *testing.B) {
			dir := b.TempDir()
			b.ReportAllocs()
			b.SetBytes(int64(tableEntries * (16 + 100)))
			for i := 0; i < b.N; i++ {
				f, err := os.Create(filepath.Join(dir, "t.ldb"))
				if err != nil {
					b.Fatal(err)
				}
				if err := e.e.build(f, d); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/tableEntries, "ns/entry")
		})
	}
}

// openWarm opens the table and reads it once whole, so every block is in the block cache.
func openWarm(b *testing.B, e tableEngine) tableReader {
	r, err := e.open(buildTableFile(b, e, b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	d := loadTableData()
	for _, k := range d.keys {
		if !r.get(k) {
			b.Fatalf("key %x missing", k)
		}
	}
	return r
}

// BenchmarkTableGet looks up present keys in random order; BenchmarkTableGetAbsent absent ones
// (the filter answers most).
func BenchmarkTableGet(b *testing.B) {
	runWarm(b, "absent", func(b *testing.B, r tableReader, absent bool) {
		d := loadTableData()
		ks := d.keys
		if absent {
			ks = d.absent
		}
		rng := rand.New(rand.NewPCG(3, 3))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if r.get(ks[rng.IntN(len(ks))]) == absent {
				b.Fatal("wrong answer")
			}
		}
	})
}

// BenchmarkTableScan iterates the whole table forward or backward; ns/op is per entry.
func BenchmarkTableScan(b *testing.B) {
	runWarm(b, "reverse", func(b *testing.B, r tableReader, reverse bool) {
		b.ReportAllocs()
		b.ResetTimer()
		entries := 0
		for i := 0; i < b.N; i++ {
			entries += r.scan(reverse)
		}
		if entries != b.N*tableEntries {
			b.Fatalf("scanned %d entries, want %d", entries, b.N*tableEntries)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(entries), "ns/entry")
		b.SetBytes(int64(tableEntries * (16 + 100)))
	})
}

// runWarm runs bench as the sub-benchmarks NAME=false and NAME=true of every engine, each on a
// table openWarm opened, with the flag's value.
func runWarm(b *testing.B, name string, bench func(b *testing.B, r tableReader, flag bool)) {
	for _, flag := range []bool{false, true} {
		for _, e := range tableEngines {
			b.Run(fmt.Sprintf("%s=%v/engine=%s", name, flag, e.name), func(b *testing.B) {
				r := openWarm(b, e.e)
				defer r.close()
				bench(b, r, flag)
			})
		}
	}
}
