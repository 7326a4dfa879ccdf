package sstable

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/golang/snappy"
	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/coding"
	"github.com/stratadb/strata/internal/crc"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/vfs"
)

// mappedFile is a File over bytes that also implements vfs.Mappable, so that the mapped read
// path runs on crafted bytes without touching the disk.
type mappedFile struct {
	vfs.File
	data []byte
}

func (m *mappedFile) Map(size int) (vfs.Region, error) {
	if size > len(m.data) {
		return nil, fmt.Errorf("map: size %d past %d", size, len(m.data))
	}
	return region(m.data[:size]), nil
}

type region []byte

func (r region) Bytes() []byte { return r }
func (r region) Close() error  { return nil }

// openVariant opens data as a file of the given kind: "mem" (ReadAt) or "mapped".
func openVariant(t testing.TB, kind, name string, data []byte, size int64, ro ReaderOptions) (*Reader, error) {
	t.Helper()
	f := memFile(t, name, data)
	file := f
	if kind == "mapped" {
		file = &mappedFile{File: f, data: data}
	}
	r, err := Open(file, name, size, ro)
	if err == nil {
		require.Equal(t, kind == "mapped" && int64(len(data)) >= size, r.Mapped())
		t.Cleanup(func() { r.Close() })
	}
	return r, err
}

var variants = []string{"mem", "mapped"}

// requireCorrupt asserts that err is a corruption error naming file.
func requireCorrupt(t testing.TB, err error, file string, what ...string) {
	t.Helper()
	require.Error(t, err)
	require.True(t, errors.Is(err, dberr.ErrCorruption), "want a corruption error, got %v", err)
	var ce *dberr.CorruptionError
	require.True(t, errors.As(err, &ce))
	require.Equal(t, file, ce.File, "the error names the file")
	for _, w := range what {
		require.Contains(t, err.Error(), w)
	}
}

// rawTable assembles a table from hand-made blocks, each with a valid trailer.
type rawTable struct{ buf []byte }

func blockTrailer(contents []byte, typ byte) []byte {
	sum := crc.Mask(crc.Extend(crc.Value(contents), []byte{typ}))
	return coding.AppendFixed32([]byte{typ}, sum)
}

func (rt *rawTable) block(contents []byte, typ byte) BlockHandle {
	h := BlockHandle{Offset: uint64(len(rt.buf)), Size: uint64(len(contents))}
	rt.buf = append(rt.buf, contents...)
	rt.buf = append(rt.buf, blockTrailer(contents, typ)...)
	return h
}

// indexFor builds an index block over (separator, handle) pairs.
func indexFor(seps []string, hs []BlockHandle) []byte {
	w := newBlockWriter(1)
	for i := range seps {
		w.add([]byte(seps[i]), hs[i].AppendTo(nil))
	}
	return append([]byte(nil), w.finish()...)
}

func emptyBlock() []byte { return []byte{0, 0, 0, 0, 1, 0, 0, 0} }

// craft makes a one-data-block table whose data block has the given contents and type.
func craft(data []byte, typ byte) []byte {
	var rt rawTable
	dh := rt.block(data, typ)
	mh := rt.block(emptyBlock(), typeNone)
	ih := rt.block(indexFor([]string{"zzz"}, []BlockHandle{dh}), typeNone)
	return Footer{Metaindex: mh, Index: ih}.appendTo(rt.buf)
}

// tableWithIndex makes a table with no data block whose index block has the given contents and
// compression type.
func tableWithIndex(index []byte, typ byte) []byte {
	var rt rawTable
	mh := rt.block(emptyBlock(), typeNone)
	ih := rt.block(index, typ)
	return Footer{Metaindex: mh, Index: ih}.appendTo(rt.buf)
}

// tableWithFilter makes a table with no data block whose metaindex names a bloom filter block
// with the given contents.
func tableWithFilter(filter []byte) []byte {
	var rt rawTable
	fh := rt.block(filter, typeNone)
	w := newBlockWriter(16)
	w.add([]byte("filter."+BloomFilterName), fh.AppendTo(nil))
	mh := rt.block(w.finish(), typeNone)
	ih := rt.block(indexFor(nil, nil), typeNone)
	return Footer{Metaindex: mh, Index: ih}.appendTo(rt.buf)
}

// tableWithBadSecondBlock makes a table of two copies of goodBlock, indexed under "c" and "d",
// the second with a flipped byte (a checksum mismatch); it returns the table and the bad
// block's handle.
func tableWithBadSecondBlock() ([]byte, BlockHandle) {
	var rt rawTable
	good := rt.block(goodBlock(), typeNone)
	bad := rt.block(goodBlock(), typeNone)
	rt.buf[bad.Offset] ^= 1
	mh := rt.block(emptyBlock(), typeNone)
	ih := rt.block(indexFor([]string{"c", "d"}, []BlockHandle{good, bad}), typeNone)
	return Footer{Metaindex: mh, Index: ih}.appendTo(rt.buf), bad
}

// goodBlock is a data block with keys a, b, c (restart interval 2).
func goodBlock() []byte { return blockOf(2, "a", "1", "b", "2", "c", "3") }

// blockOf builds a block of the given key, value pairs in the order given (checking nothing, so
// it can build a block whose keys are out of order) and returns a copy of it.
func blockOf(restartInterval int, kvs ...string) []byte {
	w := newBlockWriter(restartInterval)
	for i := 0; i < len(kvs); i += 2 {
		w.add([]byte(kvs[i]), []byte(kvs[i+1]))
	}
	return append([]byte(nil), w.finish()...)
}

// useTable reads every way it can and returns the first error.
func useTable(r *Reader) error {
	if _, _, err := r.Get(nil, []byte("a"), ReadOptions{}); err != nil && !errors.Is(err, dberr.ErrNotFound) {
		return err
	}
	it := r.NewIterator(ReadOptions{})
	for it.First(); it.Valid(); it.Next() {
	}
	if err := it.Error(); err != nil {
		return err
	}
	for it.Last(); it.Valid(); it.Prev() {
	}
	return it.Close()
}

func TestCorruption(t *testing.T) {
	valid, _ := buildTable(t, WriterOptions{BlockSize: 64, Filter: NewBloomPolicy(10)}, []kv{
		{[]byte("apple"), []byte("red")}, {[]byte("banana"), []byte("yellow")}, {[]byte("cherry"), []byte("dark red")},
		{[]byte("damson"), []byte("purple")}, {[]byte("elderberry"), []byte("black")},
	})
	flip := func(data []byte, off int) []byte {
		d := append([]byte(nil), data...)
		d[off] ^= 0xff
		return d
	}
	ropts := ReaderOptions{Filter: NewBloomPolicy(10)}

	// Damage that Open finds.
	openCases := []struct {
		name string
		data []byte
		size int64 // 0: len(data)
		what string
	}{
		{"bad magic", flip(valid, len(valid)-1), 0, "bad magic"},
		{"not a table", bytes.Repeat([]byte("x"), 100), 0, "bad magic"},
		{"truncated footer", valid[:FooterLen-1], 0, "truncated footer"},
		{"empty file", nil, 0, "truncated footer"},
		{"truncated file", valid[:len(valid)-10], 0, "bad magic"},
		{"file shorter than its size", valid[:len(valid)-10], int64(len(valid)), "truncated footer"},
		{"out-of-range index handle", func() []byte {
			d := append([]byte(nil), valid[:len(valid)-FooterLen]...)
			return Footer{Metaindex: BlockHandle{0, 8}, Index: BlockHandle{Offset: uint64(len(valid)), Size: 10}}.appendTo(d)
		}(), 0, "index block handle"},
		{"huge index handle", func() []byte {
			d := append([]byte(nil), valid[:len(valid)-FooterLen]...)
			return Footer{Metaindex: BlockHandle{0, 8}, Index: BlockHandle{Offset: 1 << 63, Size: 1<<64 - 1}}.appendTo(d)
		}(), 0, "runs past"},
		{"out-of-range metaindex handle", func() []byte {
			var rt rawTable
			ih := rt.block(indexFor(nil, nil), typeNone)
			return Footer{Metaindex: BlockHandle{Offset: 5, Size: 1 << 40}, Index: ih}.appendTo(rt.buf)
		}(), 0, "metaindex block handle"},
		{"out-of-range data handle in index",
			tableWithIndex(indexFor([]string{"k"}, []BlockHandle{{Offset: 0, Size: 1000}}), typeNone), 0, "data block handle"},
		{"bad handle in index", tableWithIndex(blockOf(1, "k", "\x80"), typeNone), 0, "bad block handle"},
		{"index checksum mismatch", func() []byte {
			var rt rawTable
			mh := rt.block(emptyBlock(), typeNone)
			ih := rt.block(indexFor(nil, nil), typeNone)
			rt.buf[ih.Offset+1] ^= 1
			return Footer{Metaindex: mh, Index: ih}.appendTo(rt.buf)
		}(), 0, "checksum mismatch"},
		{"index restart count too large", tableWithIndex([]byte{0, 0, 0, 0, 9, 0, 0, 0}, typeNone), 0, "restart count"},
		{"index keys out of order", func() []byte {
			var rt rawTable
			dh := rt.block(goodBlock(), typeNone)
			mh := rt.block(emptyBlock(), typeNone)
			ih := rt.block(indexFor([]string{"b", "a"}, []BlockHandle{dh, dh}), typeNone)
			return Footer{Metaindex: mh, Index: ih}.appendTo(rt.buf)
		}(), 0, "out of order"},
		{"index unknown compression type", tableWithIndex(indexFor(nil, nil), 7), 0, "index block: unknown compression type 7"},
		{"metaindex bad entry", func() []byte {
			var rt rawTable
			mh := rt.block([]byte{0, 50, 0, 0, 0, 0, 0, 1, 0, 0, 0}, typeNone)
			ih := rt.block(indexFor(nil, nil), typeNone)
			return Footer{Metaindex: mh, Index: ih}.appendTo(rt.buf)
		}(), 0, "bad lengths"},
		{"filter offsets start past the block",
			tableWithFilter([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0, 11}), 0, "filter offsets start"},
		{"filter offsets out of order", func() []byte {
			var fb []byte
			fb = append(fb, make([]byte, 9)...)
			fb = coding.AppendFixed32(fb, 5)
			fb = coding.AppendFixed32(fb, 2)
			fb = coding.AppendFixed32(fb, 9)
			fb = append(fb, 11)
			return tableWithFilter(fb)
		}(), 0, "out of order or past"},
		{"snappy index claims a huge length", tableWithIndex([]byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0}, typeSnappy), 0, "claims"},
	}
	for _, c := range openCases {
		for _, kind := range variants {
			t.Run(c.name+"/"+kind, func(t *testing.T) {
				size := c.size
				if size == 0 {
					size = int64(len(c.data))
				}
				_, err := openVariant(t, kind, "bad.ldb", c.data, size, ropts)
				requireCorrupt(t, err, "bad.ldb", c.what)
			})
		}
	}

	// Damage in a data block, found when the block is first used.
	snappyGarbage := []byte{20, 0xfe, 0xfe, 0xfe}
	dataCases := []struct {
		name string
		data []byte
		what string
	}{
		{"checksum mismatch", func() []byte {
			d := craft(goodBlock(), typeNone)
			d[2] ^= 0x10
			return d
		}(), "checksum mismatch"},
		{"corrupt restart array: count too large", craft(append(goodBlock()[:len(goodBlock())-4], 99, 0, 0, 0), typeNone), "restart count 99"},
		{"corrupt restart array: offset past the entries", func() []byte {
			b := goodBlock()
			coding.PutFixed32(b[len(b)-8:], 200)
			return craft(b, typeNone)
		}(), "past the entries"},
		{"corrupt restart array: not increasing", func() []byte {
			b := blockOf(1, "a", "1", "b", "2")
			coding.PutFixed32(b[len(b)-8:], 0) // restarts 0, 0
			return craft(b, typeNone)
		}(), "not increasing"},
		{"corrupt restart array: first not at 0", func() []byte {
			b := goodBlock()
			coding.PutFixed32(b[len(b)-12:], 4)
			return craft(b, typeNone)
		}(), "first restart point"},
		{"corrupt restart array: no restarts", craft([]byte{0, 1, 1, 'a', '1', 0, 0, 0, 0}, typeNone), "no restart points"},
		{"bad entry lengths", craft([]byte{0, 200, 1, 'a', '1', 0, 0, 0, 0, 1, 0, 0, 0}, typeNone), "bad lengths"},
		{"shared prefix too long", func() []byte {
			b := []byte{0, 1, 1, 'a', '1', 5, 1, 1, 'b', '2'}
			b = coding.AppendFixed32(b, 0)
			b = coding.AppendFixed32(b, 1)
			return craft(b, typeNone)
		}(), "shares 5 bytes"},
		{"keys out of order in a block", craft(blockOf(16, "b", "1", "a", "2"), typeNone), "out of order"},
		{"duplicate keys in a block", craft(blockOf(16, "a", "1", "a", "2"), typeNone), "out of order"},
		{"unknown compression type", craft(goodBlock(), 2), "data block: unknown compression type 2"},
		{"snappy failure", craft(snappyGarbage, typeSnappy), "snappy"},
		{"snappy claims a huge length", craft([]byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0}, typeSnappy), "claims"},
		{"snappy decodes to a bad block", craft(snappy.Encode(nil, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}), typeSnappy), "block"},
	}
	for _, c := range dataCases {
		for _, kind := range variants {
			for _, cached := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/cache=%t", c.name, kind, cached), func(t *testing.T) {
					ro := ropts
					var cache *mapCache
					if cached {
						cache = newMapCache()
						ro.Cache = cache
					}
					r, err := openVariant(t, kind, "bad.ldb", c.data, int64(len(c.data)), ro)
					require.NoError(t, err, "data blocks are checked on first use, not at Open")
					_, _, err = r.Get(nil, []byte("a"), ReadOptions{})
					requireCorrupt(t, err, "bad.ldb", c.what)
					requireCorrupt(t, useTable(r), "bad.ldb", c.what)
					_, _, err = r.Get(nil, []byte("a"), ReadOptions{VerifyChecksums: true})
					requireCorrupt(t, err, "bad.ldb", c.what)
					if cache != nil {
						require.Zero(t, cache.sets.Load(), "a bad block is never cached")
					}
				})
			}
		}
	}

	t.Run("error names the block offset", func(t *testing.T) {
		d, bad := tableWithBadSecondBlock()
		for _, kind := range variants {
			r, err := openVariant(t, kind, "off.ldb", d, int64(len(d)), ReaderOptions{})
			require.NoError(t, err)
			_, _, err = r.Get(nil, []byte("c\x00"), ReadOptions{})
			var ce *dberr.CorruptionError
			require.True(t, errors.As(err, &ce), "%v", err)
			require.Equal(t, int64(bad.Offset), ce.Offset)
			require.Contains(t, err.Error(), fmt.Sprintf("off.ldb at offset %d", bad.Offset))
		}
	})
}

// TestWriterRefusesOutOfOrder: a key not strictly after the previous one is refused with
// ErrInvalidArgument, and the Writer carries on as if it had not been offered.
func TestWriterRefusesOutOfOrder(t *testing.T) {
	for _, cmp := range []keys.Comparator{keys.Bytewise, reverseCmp{}} {
		var buf bytes.Buffer
		w := NewWriter(&buf, WriterOptions{Comparator: cmp, Filter: NewBloomPolicy(10)})
		es := []kv{{[]byte("b"), []byte("1")}, {[]byte("d"), []byte("2")}, {[]byte("f"), []byte("3")}}
		sortEntries(es, cmp)
		require.NoError(t, w.Add(es[0].k, es[0].v))
		require.NoError(t, w.Add(es[1].k, es[1].v))
		for _, bad := range [][]byte{es[1].k, es[0].k} {
			err := w.Add(bad, []byte("x"))
			require.ErrorIs(t, err, dberr.ErrInvalidArgument)
			require.Contains(t, err.Error(), "strictly increase")
		}
		require.NoError(t, w.Add(es[2].k, es[2].v), "the writer is still usable")
		md, err := w.Finish()
		require.NoError(t, err)
		require.Equal(t, uint64(3), md.Entries)
		require.Error(t, w.Add([]byte("z"), nil), "Add after Finish")
		_, err = w.Finish()
		require.Error(t, err, "Finish twice")

		r, err := openBytes(t, "order.ldb", buf.Bytes(), ReaderOptions{Comparator: cmp, Filter: NewBloomPolicy(10)})
		require.NoError(t, err)
		it := r.NewIterator(ReadOptions{})
		i := 0
		for ok := it.First(); ok; ok = it.Next() {
			require.Equal(t, es[i].k, it.Key())
			require.Equal(t, es[i].v, it.Value())
			i++
		}
		require.Equal(t, 3, i)
		require.NoError(t, it.Close())
	}
}

// TestWriterWriteError: a failing file makes Add or Finish report the error, which sticks.
func TestWriterWriteError(t *testing.T) {
	boom := errors.New("disk full")
	w := NewWriter(failAfter{n: 100 << 10, err: boom}, WriterOptions{Compression: NoCompression})
	var err error
	for i := 0; i < 100000 && err == nil; i++ {
		err = w.Add([]byte(fmt.Sprintf("%08d", i)), make([]byte, 100))
	}
	require.ErrorIs(t, err, boom)
	require.ErrorIs(t, w.Add([]byte("zzzzzzzzz"), nil), boom)
	_, err = w.Finish()
	require.ErrorIs(t, err, boom)
}

type failAfter struct {
	n   int
	err error
}

func (f failAfter) Write(p []byte) (int, error) { return 0, f.err }

// TestCorruptionSweep flips every byte of small multi-block tables and truncates them at every
// length: each time, Open, Get and iteration return exactly the right data or a corruption
// error naming the file. Nothing panics, hangs or returns a wrong value.
func TestCorruptionSweep(t *testing.T) {
	rng := rand.New(rand.NewPCG(newSeed(t), 9))
	var es []kv
	for i := 0; i < 40; i++ {
		v := randValue(rng, rng.IntN(40))
		es = append(es, kv{k: []byte(fmt.Sprintf("key-%03d", i*7)), v: v})
	}
	for _, comp := range []Compression{NoCompression, SnappyCompression} {
		data, _ := buildTable(t, WriterOptions{BlockSize: 200, RestartInterval: 4, Compression: comp, Filter: NewBloomPolicy(10)}, es)
		t.Run(fmt.Sprintf("comp=%s/len=%d", comp, len(data)), func(t *testing.T) {
			flips := []byte{0xff, 0x01, 0x80}
			if raceEnabled {
				flips = flips[:1]
			}
			for off := range data {
				for _, x := range flips {
					d := append([]byte(nil), data...)
					d[off] ^= x
					for _, kind := range variants {
						checkDamaged(t, fmt.Sprintf("flip %#x at %d (%s)", x, off, kind), kind, d, int64(len(d)), es)
					}
				}
			}
			for n := 0; n < len(data); n++ {
				for _, kind := range variants {
					checkDamaged(t, fmt.Sprintf("truncated to %d (%s)", n, kind), kind, data[:n], int64(n), es)
					checkDamaged(t, fmt.Sprintf("truncated to %d, size claimed (%s)", n, kind), kind, data[:n], int64(len(data)), es)
				}
			}
		})
	}
}

// checkDamaged opens data and reads it every way; see TestCorruptionSweep.
func checkDamaged(t *testing.T, what, kind string, data []byte, size int64, es []kv) {
	t.Helper()
	const name = "damaged.ldb"
	r, err := openVariant(t, kind, name, data, size, ReaderOptions{Filter: NewBloomPolicy(10)})
	if err != nil {
		requireCorrupt(t, err, name)
		return
	}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s: %s", what, fmt.Sprintf(format, args...))
	}
	isCorrupt := func(err error) bool {
		var ce *dberr.CorruptionError
		return errors.As(err, &ce) && ce.File == name && errors.Is(err, dberr.ErrCorruption)
	}
	for _, ro := range []ReadOptions{{}, {VerifyChecksums: true}} {
		for _, e := range es {
			k, v, err := r.Get(nil, e.k, ro)
			if err != nil {
				if !isCorrupt(err) {
					fail("Get(%q): %v", e.k, err)
				}
				continue
			}
			if !bytes.Equal(k, e.k) || !bytes.Equal(v, e.v) {
				fail("Get(%q) = %q, %q; want %q", e.k, k, v, e.v)
			}
		}
		_, _, err := r.Get(nil, []byte("key-0001"), ro) // absent
		if err != nil && !errors.Is(err, dberr.ErrNotFound) && !isCorrupt(err) {
			fail("Get(absent): %v", err)
		}
	}
	it := r.NewIterator(ReadOptions{})
	i := 0
	for ok := it.First(); ok; ok = it.Next() {
		if i >= len(es) || !bytes.Equal(it.Key(), es[i].k) || !bytes.Equal(it.Value(), es[i].v) {
			fail("forward entry %d: %q", i, it.Key())
		}
		i++
	}
	if err := it.Error(); err != nil {
		if !isCorrupt(err) {
			fail("forward: %v", err)
		}
	} else if i != len(es) {
		fail("forward scan ended after %d of %d entries without an error", i, len(es))
	}
	i = len(es) - 1
	for ok := it.Last(); ok; ok = it.Prev() {
		if i < 0 || !bytes.Equal(it.Key(), es[i].k) || !bytes.Equal(it.Value(), es[i].v) {
			fail("backward entry %d: %q", i, it.Key())
		}
		i--
	}
	if err := it.Error(); err != nil {
		if !isCorrupt(err) {
			fail("backward: %v", err)
		}
	} else if i != -1 {
		fail("backward scan ended at %d without an error", i)
	}
	if err := it.Close(); err != nil && !isCorrupt(err) {
		fail("Close: %v", err)
	}
	_ = strings.TrimSpace
}
