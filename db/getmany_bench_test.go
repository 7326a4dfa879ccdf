//go:build unix

package db

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"
)

// The benchmarks of the batched lookups report, besides wall time per key (ns/key), the
// process's CPU time per key (cpu-ns/key, from getrusage: every goroutine's, the garbage
// collector's included), which stays meaningful on a machine busy with other work.

// cpuTime returns the CPU time the process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportPerKey reports ns/key and cpu-ns/key for b.N rounds of size keys, given the CPU time
// when the timer was reset.
func reportPerKey(b *testing.B, size int, cpu0 time.Duration) {
	keys := float64(b.N * size)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/keys, "ns/key")
	b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/keys, "cpu-ns/key")
}

// BenchmarkGetMany compares lookups one key at a time (Get, Has) with batched ones (GetMany,
// HasMany, and GetMany with DontFillCache) on a DB of 1,048,576 keys (16-byte keys, 100-byte
// values, half compressible, as the other DB benchmarks; flushed and compacted; default
// options, so an 8 MiB block cache over about 70 MiB of tables), for batches of 1Ki and 64Ki
// random present keys, with snappy-compressed tables (the default: most lookups decompress a
// block) and uncompressed ones (blocks served from the mapped files). ns/op is per batch;
// ns/key is the figure to compare. Run with -benchmem.
func BenchmarkGetMany(b *testing.B) {
	const n = 1 << 20
	for _, comp := range []Compression{SnappyCompression, NoCompression} {
		b.Run("tables="+comp.String(), func(b *testing.B) { benchGetMany(b, n, comp) })
	}
}

func benchGetMany(b *testing.B, n int, comp Compression) {
	d, err := Open(b.TempDir(), &Options{Compression: comp})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	fillBench(b, d, n, true)
	waitIdle(d)
	// Read every block once, so that no run pays for first touches of the mapped files and
	// first checks of the blocks.
	it := d.NewIterator(&ReadOptions{DontFillCache: true})
	for ok := it.First(); ok; ok = it.Next() {
	}
	if err := it.Close(); err != nil {
		b.Fatal(err)
	}
	b.Logf("files per level %v", levelCounts(b, d))
	for _, size := range []int{1 << 10, 64 << 10} {
		rng := rand.New(rand.NewPCG(7, uint64(size)))
		batches := make([][][]byte, 8)
		for j := range batches {
			batches[j] = make([][]byte, size)
			for i := range batches[j] {
				batches[j][i] = benchKey(nil, rng.Uint64N(uint64(n)))
			}
		}
		for _, api := range []string{"Get", "Has", "GetMany", "HasMany", "GetMany-DontFillCache"} {
			b.Run(fmt.Sprintf("batch=%d/api=%s", size, api), func(b *testing.B) {
				found := make([]bool, size)
				var sum int
				fn := func(i int, value []byte, ok bool) error {
					if !ok {
						return ErrNotFound
					}
					sum += len(value)
					return nil
				}
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime(b)
				for it := 0; it < b.N; it++ {
					batch := batches[it%len(batches)]
					var err error
					switch api {
					case "Get":
						for _, k := range batch {
							var v []byte
							if v, err = d.Get(k, nil); err != nil {
								break
							}
							sum += len(v)
						}
					case "Has":
						for _, k := range batch {
							var ok bool
							if ok, err = d.Has(k, nil); err != nil || !ok {
								err = fmt.Errorf("Has: %v, %w", ok, err)
								break
							}
						}
					case "GetMany":
						err = d.GetMany(batch, nil, fn)
					case "GetMany-DontFillCache":
						err = d.GetMany(batch, &ReadOptions{DontFillCache: true}, fn)
					case "HasMany":
						err = d.HasMany(batch, nil, found)
						if err == nil && slices.Contains(found, false) {
							err = ErrNotFound
						}
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				reportPerKey(b, size, cpu0)
			})
		}
	}
}

// BenchmarkGetManySort measures the sort of a batch (the permutation GetMany walks) against
// a comparison sort of the same keys, on random 16-byte keys, on the benchmarks' zero-padded
// decimal keys (which share a long prefix) and on names as the usernames command's (6 to 16
// characters of 37); radix-parallel is the radix sort on GOMAXPROCS goroutines, as GetMany
// sorts a large batch. ns/key is the figure to compare.
func BenchmarkGetManySort(b *testing.B) {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789_"
	for _, kind := range []string{"random", "decimal", "names"} {
		for _, size := range []int{1 << 10, 64 << 10, 1 << 20} {
			rng := rand.New(rand.NewPCG(8, uint64(size)))
			batch := make([][]byte, size)
			for i := range batch {
				switch kind {
				case "random":
					batch[i] = make([]byte, 16)
					for j := range batch[i] {
						batch[i][j] = byte(rng.Uint32())
					}
				case "names":
					batch[i] = make([]byte, 6+rng.IntN(11))
					for j := range batch[i] {
						batch[i][j] = alphabet[rng.IntN(len(alphabet))]
					}
				default:
					batch[i] = benchKey(nil, rng.Uint64N(1<<20))
				}
			}
			for _, how := range []string{"radix", "radix-parallel", "compare"} {
				b.Run(fmt.Sprintf("keys=%s/batch=%d/sort=%s", kind, size, how), func(b *testing.B) {
					var ents, tmp []sortEnt
					perm := make([]uint32, size)
					b.ReportAllocs()
					b.ResetTimer()
					cpu0 := cpuTime(b)
					for it := 0; it < b.N; it++ {
						if how != "compare" {
							ways := 1
							if how == "radix-parallel" {
								ways = runtime.GOMAXPROCS(0)
							}
							ents, tmp = sortBatch(batch, BytewiseComparator, commonPrefixLen(batch), ents, tmp, ways, nil)
							continue
						}
						for i := range perm {
							perm[i] = uint32(i)
						}
						slices.SortFunc(perm, func(x, y uint32) int { return bytes.Compare(batch[x], batch[y]) })
					}
					reportPerKey(b, size, cpu0)
				})
			}
		}
	}
}
