package wal

import (
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
)

// maxBenchLog is where the write benchmarks start a new file, so a long run does not fill the
// disk; the switch happens with the timer stopped.
const maxBenchLog = 64 << 20

// BenchmarkAddRecord appends records to a real file, as the DB's commit path does: unsynced
// (each record handed to the OS by one write(2)) and synced after every record.
func BenchmarkAddRecord(b *testing.B) {
	for _, bc := range []struct {
		sync bool
		size int
	}{{false, 100}, {false, 64 << 10}, {true, 100}} {
		b.Run(fmt.Sprintf("sync=%t/size=%d", bc.sync, bc.size), func(b *testing.B) {
			dir := b.TempDir()
			rng := rand.New(rand.NewSource(1))
			p := make([]byte, bc.size)
			rng.Read(p)

			var f *os.File
			var w *Writer
			files := 0
			open := func() {
				if f != nil {
					f.Close()
				}
				files++
				var err error
				f, err = os.Create(filepath.Join(dir, fmt.Sprintf("%06d.log", files)))
				if err != nil {
					b.Fatal(err)
				}
				w = NewWriter(f)
				if err := w.AddRecord(p); err != nil { // warm the framing buffer
					b.Fatal(err)
				}
			}
			open()
			defer func() { f.Close() }()

			b.SetBytes(int64(bc.size))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if w.Size() > maxBenchLog {
					b.StopTimer()
					open()
					b.StartTimer()
				}
				if err := w.AddRecord(p); err != nil {
					b.Fatal(err)
				}
				if bc.sync {
					if err := w.Sync(); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkReader reads a log of equal-sized records from memory: framing, checksums and
// reassembly, without the file system.
func BenchmarkReader(b *testing.B) {
	for _, size := range []int{100, 64 << 10} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			rng := rand.New(rand.NewSource(1))
			p := make([]byte, size)
			rng.Read(p)
			var m memLog
			w := NewWriter(&m)
			for m.Len() < 8<<20 {
				if err := w.AddRecord(p); err != nil {
					b.Fatal(err)
				}
			}
			log := m.Bytes()
			src := bytes.NewReader(log)
			r := NewReader(src, "bench.log")

			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := r.Next(); err != nil {
					if err != io.EOF {
						b.Fatal(err)
					}
					src.Reset(log)
					r.Reset(src, "bench.log")
					if _, err := r.Next(); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
