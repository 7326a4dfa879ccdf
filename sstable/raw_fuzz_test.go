package sstable

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRawReader reads arbitrary bytes as a table the way a tool does with a RawReader: the
// footer, the index and metaindex blocks, every handle they hold (DecodeBlockHandle,
// CheckHandle), every block those point at (ReadBlock, Walk), each also decoded as a filter
// block and probed. Every failure must be a corruption error naming the file, and nothing may
// panic. Seeds: the tables of seedTables and the C++ fixtures, broken ones included; each input
// runs again with its checksums repaired, as in FuzzTable, to reach the decoders behind them.
func FuzzRawReader(f *testing.F) {
	for _, d := range seedTables(f) {
		f.Add(d)
	}
	for _, pattern := range []string{"testdata/leveldb/*.ldb", "testdata/broken/*.ldb"} {
		names, _ := filepath.Glob(pattern)
		for _, name := range names {
			if b, err := os.ReadFile(name); err == nil && len(b) <= 64<<10 {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzAlsoRepaired(t, data, fuzzRawRead) })
}

// fuzzRawRead reads data as FuzzRawReader says, failing t on any error that is not a
// corruption error naming the file.
func fuzzRawRead(t *testing.T, data []byte) {
	const name = "fuzz.ldb"
	ok := func(err error) bool {
		if err != nil {
			requireCorrupt(t, err, name)
			return false
		}
		return true
	}
	rr := NewRawReader(memFile(t, name, data), name, int64(len(data)))
	ft, err := rr.ReadFooter()
	if !ok(err) {
		return
	}
	var handles []BlockHandle
	for _, top := range []struct {
		h    BlockHandle
		what string
	}{{ft.Index, "index block"}, {ft.Metaindex, "metaindex block"}} {
		if !ok(rr.CheckHandle(top.h, uint64(len(data)-FooterLen), top.what)) {
			continue
		}
		b, err := rr.ReadBlock(top.h, top.what)
		if !ok(err) {
			continue
		}
		ok(b.Walk(func(e RawEntry) bool {
			if h, n := DecodeBlockHandle(e.Value); n > 0 && ok(rr.CheckHandle(h, top.h.Offset, "block")) {
				handles = append(handles, h)
			}
			return len(handles) < 1000
		}))
	}
	bloom := BuiltinFilterPolicy(BloomFilterName)
	for _, h := range handles {
		b, err := rr.ReadBlock(h, "block")
		if !ok(err) {
			continue
		}
		ok(b.Walk(func(RawEntry) bool { return true }))
		fb, err := DecodeFilterBlock(bytes.Clone(b.Contents), name, h.Offset)
		if !ok(err) {
			continue
		}
		for _, off := range []uint64{0, h.Offset, 1 << 40} {
			if f, found := fb.Filter(off); found {
				bloom.MayContain(f, []byte("key"))
			}
		}
	}
}
