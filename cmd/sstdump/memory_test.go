package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stratadb/strata/sstable"
)

// heapWatcher is an output that records the largest heap in use while the command writes.
type heapWatcher struct {
	calls    int
	peakHeap uint64
}

func (h *heapWatcher) Write(p []byte) (int, error) {
	h.calls++
	if h.calls%16 == 1 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		h.peakHeap = max(h.peakHeap, ms.HeapInuse)
	}
	return len(p), nil
}

// TestStreamingMemory checks invariant 2 on a 95 MB table: scan, props and check keep far less
// than the table in memory (the index, the filter and one block, plus buffers).
func TestStreamingMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 95 MB table")
	}
	path := filepath.Join(t.TempDir(), "big.ldb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := sstable.NewWriter(bw, sstable.WriterOptions{Filter: sstable.NewBloomPolicy(10), Compression: sstable.NoCompression})
	v := make([]byte, 200)
	const n = 450_000
	for i := 0; i < n; i++ {
		for j := range v {
			v[j] = byte(i*31 + j*7)
		}
		if err := w.Add([]byte(fmt.Sprintf("key%012d", i)), v); err != nil {
			t.Fatal(err)
		}
	}
	meta, err := w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	const limit = 24 << 20
	for _, args := range [][]string{{"scan", path}, {"scan", "--format=json", "--hex", path}, {"props", path}, {"check", path}} {
		runtime.GC()
		h := &heapWatcher{}
		if code := run(args, h, os.Stderr); code != 0 {
			t.Fatalf("%v: exit %d", args, code)
		}
		t.Logf("%v over a %d-byte table: peak heap %d bytes", args[:len(args)-1], meta.Size, h.peakHeap)
		if h.peakHeap > limit {
			t.Errorf("%v: peak heap %d bytes, want under %d for a %d-byte table", args, h.peakHeap, limit, meta.Size)
		}
	}
}
