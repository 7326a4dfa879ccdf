package sstable

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/golang/snappy"

	"github.com/stratadb/strata/internal/coding"
	"github.com/stratadb/strata/internal/crc"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
)

// Fuzz targets for every decoder: whole tables (as given, and with their checksums repaired so
// that the fuzzer reaches the block decoders behind them), blocks, filter blocks and footers.
// The seeds are small valid tables written here and the hand-made bad tables of
// corrupt_test.go. Run one with, for example, go test -fuzz FuzzTable -run XXX ./sstable/.

// seedTables returns small valid tables over several option sets.
func seedTables(t testing.TB) [][]byte {
	es := []kv{
		{[]byte(""), []byte("empty key")},
		{[]byte("apple"), []byte("red")},
		{[]byte("apricot"), bytes.Repeat([]byte("orange"), 20)},
		{[]byte("banana"), nil},
		{[]byte("cherry"), []byte("dark red")},
		{[]byte("cherry2"), []byte("x")},
		{[]byte("damson\xff"), []byte("purple")},
	}
	var out [][]byte
	for _, o := range []WriterOptions{
		{Compression: NoCompression},
		{Compression: SnappyCompression, Filter: NewBloomPolicy(10)},
		{Compression: NoCompression, BlockSize: 32, RestartInterval: 2, Filter: NewBloomPolicy(10)},
		{Compression: SnappyCompression, BlockSize: 64, RestartInterval: 1},
	} {
		d, _ := buildTable(t, o, es)
		out = append(out, d)
	}
	empty, _ := buildTable(t, WriterOptions{Filter: NewBloomPolicy(10)}, nil)
	out = append(out, empty, craft(goodBlock(), typeNone), craft(goodBlock(), 2), craft([]byte{20, 0xfe, 0xfe}, typeSnappy))
	return out
}

func FuzzTable(f *testing.F) {
	for _, d := range seedTables(f) {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzAlsoRepaired(t, data, fuzzUseTable) })
}

// fuzzAlsoRepaired runs use on data and then, if repairChecksums changes anything, on a copy of
// data with its checksums repaired, to reach the decoders behind the checksums.
func fuzzAlsoRepaired(t *testing.T, data []byte, use func(*testing.T, []byte)) {
	use(t, data)
	fixed := append([]byte(nil), data...)
	if repairChecksums(fixed) {
		use(t, fixed)
	}
}

// fuzzUseTable opens data both ways and reads it every way. Every error must be a corruption
// error (or ErrNotFound); scans in both directions must see the same entries.
func fuzzUseTable(t *testing.T, data []byte) {
	ok := func(err error) bool {
		return err == nil || errors.Is(err, dberr.ErrCorruption) || errors.Is(err, dberr.ErrNotFound)
	}
	for _, kind := range variants {
		r, err := openVariant(t, kind, "fuzz.ldb", data, int64(len(data)), ReaderOptions{Filter: NewBloomPolicy(10), Cache: newMapCache()})
		if err != nil {
			if !errors.Is(err, dberr.ErrCorruption) {
				t.Fatalf("Open: %v", err)
			}
			continue
		}
		_ = r.Layout()
		var fwd [][]byte
		it := r.NewIterator(ReadOptions{})
		for valid := it.First(); valid && len(fwd) < 10000; valid = it.Next() {
			fwd = append(fwd, append([]byte(nil), it.Key()...))
		}
		fwdErr := it.Error()
		if !ok(fwdErr) {
			t.Fatalf("forward: %v", fwdErr)
		}
		var bwd [][]byte
		for valid := it.Last(); valid && len(bwd) < 10000; valid = it.Prev() {
			bwd = append(bwd, append([]byte(nil), it.Key()...))
		}
		bwdErr := it.Error()
		if !ok(bwdErr) {
			t.Fatalf("backward: %v", bwdErr)
		}
		if fwdErr == nil && bwdErr == nil && len(fwd) < 10000 {
			if len(fwd) != len(bwd) {
				t.Fatalf("forward saw %d entries, backward %d", len(fwd), len(bwd))
			}
			for i := range fwd {
				if !bytes.Equal(fwd[i], bwd[len(bwd)-1-i]) {
					t.Fatalf("entry %d: forward %q, backward %q", i, fwd[i], bwd[len(bwd)-1-i])
				}
			}
		}
		for _, k := range append(fwd[:min(len(fwd), 20)], []byte("apple"), []byte("b"), nil) {
			_, _, err := r.Get(nil, k, ReadOptions{VerifyChecksums: true})
			if !ok(err) {
				t.Fatalf("Get(%q): %v", k, err)
			}
			it.SeekGE(k)
			it.SeekLT(k)
			if it.Valid() {
				it.Prev()
			}
			if !ok(it.Error()) {
				t.Fatalf("seek %q: %v", k, it.Error())
			}
		}
		var g Getter // the batched path, on the keys in the order the scan saw them
		g.Reset(r, ReadOptions{})
		for _, k := range fwd[:min(len(fwd), 200)] {
			if _, _, err := g.Get(k); err != nil {
				if !ok(err) {
					t.Fatalf("Getter.Get(%q): %v", k, err)
				}
				g.Reset(r, ReadOptions{})
			}
		}
		_ = r.ApproximateOffsetOf([]byte("m"))
		_ = it.Close()
	}
}

// repairChecksums rewrites the trailers of the blocks the footer, the index and the metaindex
// point at so that they match, letting the fuzzer explore past the checksums. It reports
// whether the data looked enough like a table to try.
func repairChecksums(d []byte) bool {
	if len(d) < FooterLen {
		return false
	}
	ft, err := decodeFooter(d[len(d)-FooterLen:], "", 0)
	if err != nil {
		return false
	}
	limit := uint64(len(d) - FooterLen)
	fix := func(h BlockHandle) []byte {
		end, ok := h.end()
		if !ok || end > limit {
			return nil
		}
		typ := d[h.Offset+h.Size]
		sum := crc.Mask(crc.Extend(crc.Value(d[h.Offset:h.Offset+h.Size]), []byte{typ}))
		coding.PutFixed32(d[h.Offset+h.Size+1:], sum)
		contents := d[h.Offset : h.Offset+h.Size]
		if typ == typeSnappy {
			if n, err := snappy.DecodedLen(contents); err != nil || n > 1<<20 {
				return nil
			}
			contents, _ = snappy.Decode(nil, contents)
		}
		return contents
	}
	for _, h := range []BlockHandle{ft.Index, ft.Metaindex} {
		if b := fix(h); b != nil {
			_ = WalkBlock(b, func(e RawEntry) bool {
				if bh, n := decodeHandle(e.Value); n > 0 {
					fix(bh)
				}
				return true
			})
		}
	}
	return true
}

// FuzzBlock runs the block checks and the block iterator over arbitrary bytes. The iterator
// runs even on blocks that fail the checks: it must never panic or loop on any input.
func FuzzBlock(f *testing.F) {
	f.Add(goodBlock())
	f.Add(emptyBlock())
	for _, ri := range []int{1, 3, 16} {
		w := newBlockWriter(ri)
		for i := 0; i < 40; i++ {
			w.add([]byte(fmt.Sprintf("key%03d", i*3)), []byte(fmt.Sprintf("v%d", i)))
		}
		f.Add(append([]byte(nil), w.finish()...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ord := newOrder(keys.Bytewise)
		n, _, err := checkBlock(data, &ord, "fuzz", 0, nil)
		if err != nil && !errors.Is(err, dberr.ErrCorruption) {
			t.Fatal(err)
		}
		b, ok := parseBlock(data)
		if !ok {
			if err == nil {
				t.Fatal("checkBlock accepted a block parseBlock refuses")
			}
			return
		}
		var it blockIter
		it.init(b, &ord, "fuzz", 0)
		count := 0
		for valid := it.First(); valid && count <= len(data); valid = it.Next() {
			count++
		}
		if err == nil {
			if it.err != nil || count != n {
				t.Fatalf("valid block: iterated %d of %d entries, err %v", count, n, it.err)
			}
		}
		back := 0
		for valid := it.Last(); valid && back <= len(data); valid = it.Prev() {
			back++
		}
		if err == nil && (it.err != nil || back != n) {
			t.Fatalf("valid block: iterated back over %d of %d entries, err %v", back, n, it.err)
		}
		for _, k := range [][]byte{nil, []byte("key050"), []byte("\xff")} {
			it.SeekGE(k)
			it.SeekLT(k)
			it.Prev()
		}
		_ = WalkBlock(data, func(RawEntry) bool { return true })
	})
}

// FuzzFilter parses arbitrary filter blocks and probes them; it also probes raw bloom filters.
func FuzzFilter(f *testing.F) {
	w := newFilterWriter(NewBloomPolicy(10), identityKey)
	w.startBlock(0)
	w.addKey([]byte("foo"))
	w.startBlock(3000)
	w.addKey([]byte("bar"))
	f.Add(append([]byte(nil), w.finish()...), []byte("foo"), uint64(0))
	f.Add([]byte{0, 0, 0, 0, 11}, []byte("x"), uint64(5000))
	f.Add(NewBloomPolicy(10).AppendFilter(nil, [][]byte{[]byte("a")}), []byte("a"), uint64(1))
	f.Fuzz(func(t *testing.T, data, key []byte, off uint64) {
		p := NewBloomPolicy(10)
		_ = p.MayContain(data, key)
		fr, err := parseFilter(data, p, "fuzz", 0)
		if err != nil {
			if !errors.Is(err, dberr.ErrCorruption) {
				t.Fatal(err)
			}
			return
		}
		_ = fr.mayContain(off, key)
		_ = fr.mayContain(0, key)
	})
}

// FuzzFooter decodes arbitrary footers.
func FuzzFooter(f *testing.F) {
	f.Add(Footer{Metaindex: BlockHandle{1, 2}, Index: BlockHandle{3, 4}}.appendTo(nil))
	f.Add(make([]byte, FooterLen))
	f.Fuzz(func(t *testing.T, data []byte) {
		ft, err := decodeFooter(data, "fuzz", 0)
		if err != nil {
			if !errors.Is(err, dberr.ErrCorruption) {
				t.Fatal(err)
			}
			return
		}
		again, err := decodeFooter(ft.appendTo(nil), "fuzz", 0)
		if err != nil || again != ft {
			t.Fatalf("re-encoding %+v: %+v, %v", ft, again, err)
		}
	})
}
