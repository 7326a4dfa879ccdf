package sstable

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/golang/snappy"
	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/coding"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/vfs"
)

// Tests of the comparator-free primitives: RawReader, RawBlock.Walk, DecodeBlockHandle,
// DecodeFilterBlock and BuiltinFilterPolicy. Every failure must be a corruption error that
// names the file and the offset of the structure at fault.

// requireCorruptAt asserts that err is a corruption error about file at offset off whose
// message holds each of what.
func requireCorruptAt(t testing.TB, err error, file string, off int64, what ...string) {
	t.Helper()
	requireCorrupt(t, err, file, what...)
	var ce *dberr.CorruptionError
	require.True(t, errors.As(err, &ce))
	require.Equal(t, off, ce.Offset, "the error names the offset: %v", err)
}

// rawEntries walks every data block of data with a RawReader and returns the entries, checking
// the footer and the index against r's layout on the way.
func rawEntries(t *testing.T, data []byte, r *Reader) (entries []kv, comps []Compression) {
	t.Helper()
	rr := NewRawReader(memFile(t, "raw.ldb", data), "raw.ldb", int64(len(data)))
	ft, err := rr.ReadFooter()
	require.NoError(t, err)
	l := r.Layout()
	require.Equal(t, l.Footer, ft)
	ib, err := rr.ReadBlock(ft.Index, "index block")
	require.NoError(t, err)
	var hs []BlockHandle
	require.NoError(t, ib.Walk(func(e RawEntry) bool {
		h, n := DecodeBlockHandle(e.Value)
		require.Equal(t, len(e.Value), n)
		require.NoError(t, rr.CheckHandle(h, ft.Index.Offset, "data block"))
		hs = append(hs, h)
		return true
	}))
	require.Len(t, hs, len(l.Index))
	for i, h := range hs {
		require.Equal(t, l.Index[i].Handle, h)
		b, err := rr.ReadBlock(h, fmt.Sprintf("data block %d", i))
		require.NoError(t, err)
		_, typ, err := r.ReadBlock(h)
		require.NoError(t, err)
		require.Equal(t, typ == typeSnappy, b.Compression == SnappyCompression)
		comps = append(comps, b.Compression)
		require.NoError(t, b.Walk(func(e RawEntry) bool {
			entries = append(entries, kv{bytes.Clone(e.Key), bytes.Clone(e.Value)})
			return true
		}))
	}
	return entries, comps
}

func TestRawReaderMatchesReader(t *testing.T) {
	rng := rand.New(rand.NewPCG(newSeed(t), 0))
	es := randomEntries(rng, 500, keys.Bytewise, 300)
	for _, o := range []WriterOptions{
		{Compression: NoCompression},
		{Compression: SnappyCompression, Filter: NewBloomPolicy(10)},
		{Compression: SnappyCompression, BlockSize: 256, RestartInterval: 1, Filter: NewBloomPolicy(10)},
	} {
		t.Run(fmt.Sprintf("%v/block=%d", o.Compression, o.BlockSize), func(t *testing.T) {
			data, _ := buildTable(t, o, es)
			r, err := openBytes(t, "raw.ldb", data, ReaderOptions{})
			require.NoError(t, err)
			got, comps := rawEntries(t, data, r)
			require.Equal(t, len(es), len(got))
			for i := range es {
				require.Equal(t, es[i].k, got[i].k, "entry %d", i)
				require.Equal(t, bytes.Clone(es[i].v), bytes.Clone(got[i].v), "entry %d", i)
			}
			for _, c := range comps {
				if o.Compression == NoCompression {
					require.Equal(t, NoCompression, c)
				}
			}
			if o.Compression == SnappyCompression {
				require.Contains(t, comps, SnappyCompression, "half the values compress")
			}
		})
	}
}

// TestRawReaderFilter finds the filter through the metaindex, as a tool does, and checks that
// every key matches the filter of its block.
func TestRawReaderFilter(t *testing.T) {
	rng := rand.New(rand.NewPCG(newSeed(t), 0))
	es := randomEntries(rng, 300, keys.Bytewise, 50)
	data, _ := buildTable(t, WriterOptions{BlockSize: 512, Filter: NewBloomPolicy(10)}, es)
	rr := NewRawReader(memFile(t, "f.ldb", data), "f.ldb", int64(len(data)))
	ft, err := rr.ReadFooter()
	require.NoError(t, err)
	mb, err := rr.ReadBlock(ft.Metaindex, "metaindex block")
	require.NoError(t, err)
	var name string
	var fh BlockHandle
	require.NoError(t, mb.Walk(func(e RawEntry) bool {
		name = string(e.Key)
		fh, _ = DecodeBlockHandle(e.Value)
		return true
	}))
	require.Equal(t, FilterMetaPrefix+BloomFilterName, name)
	fb, err := rr.ReadBlock(fh, "filter block")
	require.NoError(t, err)
	filters, err := DecodeFilterBlock(bytes.Clone(fb.Contents), "f.ldb", fh.Offset)
	require.NoError(t, err)
	p := BuiltinFilterPolicy(name[len(FilterMetaPrefix):])
	require.NotNil(t, p)

	r, err := openBytes(t, "f.ldb", data, ReaderOptions{})
	require.NoError(t, err)
	n := 0
	for _, ie := range r.Layout().Index {
		f, ok := filters.Filter(ie.Handle.Offset)
		require.True(t, ok, "block at %d has a filter", ie.Handle.Offset)
		b, err := rr.ReadBlock(ie.Handle, "data block")
		require.NoError(t, err)
		require.NoError(t, b.Walk(func(e RawEntry) bool {
			require.True(t, p.MayContain(f, e.Key), "key %q misses its filter", e.Key)
			n++
			return true
		}))
	}
	require.Equal(t, len(es), n)
}

func TestRawReaderFooterDamage(t *testing.T) {
	valid, _ := buildTable(t, WriterOptions{}, []kv{{[]byte("a"), []byte("1")}})
	footOff := int64(len(valid) - FooterLen)
	withFooter := func(foot []byte) []byte {
		return append(append([]byte(nil), valid[:footOff]...), foot...)
	}
	badHandle := bytes.Repeat([]byte{0xff}, FooterLen-8)
	for _, c := range []struct {
		name  string
		data  []byte
		size  int64 // 0: len(data)
		off   int64
		what  string
		isNot bool // the error matches ErrNotTable
	}{
		{"too short", valid[:FooterLen-1], 0, 0, "too short for the 48-byte footer", false},
		{"negative size", nil, -5, 0, "file of 0 bytes", false},
		{"bad magic", func() []byte { d := bytes.Clone(valid); d[len(d)-1] ^= 1; return d }(), 0, footOff, "bad magic number", true},
		{"shorter than its size", valid[:len(valid)-3], int64(len(valid)), footOff, "truncated footer: read 45 of 48 bytes", false},
		{"bad metaindex handle", withFooter(coding.AppendFixed64(bytes.Clone(badHandle), Magic)), 0, footOff, "bad metaindex handle", false},
		{"bad index handle", withFooter(coding.AppendFixed64(append([]byte{1, 2}, badHandle[2:]...), Magic)), 0, footOff, "bad index handle", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			size := c.size
			if size == 0 {
				size = int64(len(c.data))
			}
			_, err := NewRawReader(memFile(t, "foot.ldb", c.data), "foot.ldb", size).ReadFooter()
			requireCorruptAt(t, err, "foot.ldb", c.off, c.what)
			require.Equal(t, c.isNot, errors.Is(err, ErrNotTable))
		})
	}
}

// TestReaderNotTable: Open reports a file without the magic as ErrNotTable too.
func TestReaderNotTable(t *testing.T) {
	_, err := openBytes(t, "x.ldb", bytes.Repeat([]byte("x"), 100), ReaderOptions{})
	require.ErrorIs(t, err, ErrNotTable)
	require.ErrorIs(t, err, dberr.ErrCorruption)
	require.Contains(t, err.Error(), "bad magic number 0x7878787878787878, want 0xdb4775248b80fb57: not a table, or the file is truncated")
}

// TestRawReaderBlockDamage damages a data block, which follows a padding block so that its
// offset is not 0, in each way that ReadBlock or Walk must catch.
func TestRawReaderBlockDamage(t *testing.T) {
	restartCount := append(goodBlock()[:len(goodBlock())-4], 99, 0, 0, 0)
	for _, c := range []struct {
		name     string
		contents []byte
		typ      byte
		damage   func(d []byte, h BlockHandle) BlockHandle // nil: none
		walk     bool                                      // the damage shows in Walk, not ReadBlock
		what     string
	}{
		{"checksum mismatch", goodBlock(), typeNone, func(d []byte, h BlockHandle) BlockHandle {
			d[h.Offset+1] ^= 0x10
			return h
		}, false, "data block 7: checksum mismatch: stored"},
		{"unknown compression type", goodBlock(), 2, nil, false, "data block 7: unknown compression type 2"},
		{"snappy garbage", []byte{20, 0xfe, 0xfe, 0xfe}, typeSnappy, nil, false, "data block 7: snappy: "},
		{"snappy claims a huge length", []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0}, typeSnappy, nil, false, "data block 7: snappy block of 7 bytes claims 4294967295 decoded bytes"},
		{"handle past the blocks", goodBlock(), typeNone, func(d []byte, h BlockHandle) BlockHandle {
			h.Size += 1000
			return h
		}, false, fmt.Sprintf("data block 7 handle (offset 13, size %d) runs past the end of the blocks", len(goodBlock())+1000)},
		{"handle overflows", goodBlock(), typeNone, func(d []byte, h BlockHandle) BlockHandle {
			return BlockHandle{Offset: h.Offset, Size: 1<<64 - 2}
		}, false, "runs past the end of the blocks"},
		{"restart count too large", restartCount, typeNone, nil, true, "data block 7: block: restart count 99 too large"},
		{"snappy block with a bad restart array", snappy.Encode(nil, restartCount), typeSnappy, nil, true, "data block 7: block: restart count 99"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var rt rawTable
			rt.block(emptyBlock(), typeNone) // padding: the damaged block is at offset 13
			h := rt.block(c.contents, c.typ)
			mh := rt.block(emptyBlock(), typeNone)
			ih := rt.block(indexFor([]string{"zzz"}, []BlockHandle{h}), typeNone)
			data := Footer{Metaindex: mh, Index: ih}.appendTo(rt.buf)
			if c.damage != nil {
				h = c.damage(data, h)
			}
			rr := NewRawReader(memFile(t, "d.ldb", data), "d.ldb", int64(len(data)))
			b, err := rr.ReadBlock(h, "data block 7")
			if c.walk {
				require.NoError(t, err)
				called := false
				err = b.Walk(func(RawEntry) bool { called = true; return true })
				require.False(t, called, "no entry of a malformed block is passed on")
			}
			requireCorruptAt(t, err, "d.ldb", 13, c.what)
		})
	}
}

func TestRawReaderCheckHandle(t *testing.T) {
	data := craft(goodBlock(), typeNone)
	limit := len(data) - FooterLen
	rr := NewRawReader(memFile(t, "h.ldb", data), "h.ldb", int64(len(data)))
	require.NoError(t, rr.CheckHandle(BlockHandle{Offset: 0, Size: uint64(limit - BlockTrailerLen)}, 0, "x"))
	err := rr.CheckHandle(BlockHandle{Offset: 0, Size: uint64(limit - BlockTrailerLen + 1)}, 77, "index entry 3: data block")
	requireCorruptAt(t, err, "h.ldb", 77, fmt.Sprintf("index entry 3: data block handle (offset 0, size %d) runs past the end of the blocks at %d", limit-BlockTrailerLen+1, limit))
	err = NewRawReader(memFile(t, "s.ldb", nil), "s.ldb", 10).CheckHandle(BlockHandle{}, 0, "block")
	requireCorruptAt(t, err, "s.ldb", 0, "runs past the end of the blocks at 0")
}

// failingFile fails every ReadAt with errDisk.
type failingFile struct{ vfs.File }

var errDisk = errors.New("disk on fire")

func (failingFile) ReadAt([]byte, int64) (int, error) { return 0, errDisk }

func TestRawReaderIOError(t *testing.T) {
	data := craft(goodBlock(), typeNone)
	rr := NewRawReader(failingFile{memFile(t, "io.ldb", data)}, "io.ldb", int64(len(data)))
	_, err := rr.ReadFooter()
	require.ErrorIs(t, err, errDisk)
	require.NotErrorIs(t, err, dberr.ErrCorruption)
	require.Contains(t, err.Error(), "io.ldb")
	_, err = rr.ReadBlock(BlockHandle{Offset: 0, Size: 8}, "data block")
	require.ErrorIs(t, err, errDisk)
	require.NotErrorIs(t, err, dberr.ErrCorruption)
}

// TestRawReaderReusesBuffers: once its buffers have grown, reading blocks allocates nothing, so
// a tool reads a table of any size in the memory of its largest block.
func TestRawReaderReusesBuffers(t *testing.T) {
	rng := rand.New(rand.NewPCG(newSeed(t), 0))
	data, _ := buildTable(t, WriterOptions{BlockSize: 1024, Compression: SnappyCompression}, randomEntries(rng, 400, keys.Bytewise, 100))
	r, err := openBytes(t, "b.ldb", data, ReaderOptions{})
	require.NoError(t, err)
	idx := r.Layout().Index
	require.Greater(t, len(idx), 3)
	rr := NewRawReader(memFile(t, "b.ldb", data), "b.ldb", int64(len(data)))
	read := func() {
		for _, ie := range idx {
			if _, err := rr.ReadBlock(ie.Handle, "data block"); err != nil {
				t.Fatal(err)
			}
		}
	}
	read()
	if raceEnabled {
		return // the race detector's instrumentation allocates
	}
	require.Zero(t, testing.AllocsPerRun(5, read))
}

func TestDecodeBlockHandle(t *testing.T) {
	for _, h := range []BlockHandle{{0, 0}, {1, 2}, {300, 1 << 20}, {1<<64 - 1, 1<<64 - 1}} {
		enc := h.AppendTo([]byte(nil))
		got, n := DecodeBlockHandle(append(enc, 0x7f))
		require.Equal(t, h, got)
		require.Equal(t, len(enc), n, "the bytes after the handle are not read")
	}
	for _, b := range [][]byte{nil, {0x80}, {5}, {5, 0x80}, bytes.Repeat([]byte{0xff}, 11)} {
		_, n := DecodeBlockHandle(b)
		require.LessOrEqual(t, n, 0, "% x is not a handle", b)
	}
}

func TestDecodeFilterBlock(t *testing.T) {
	w := newFilterWriter(NewBloomPolicy(10), identityKey)
	w.startBlock(0)
	w.addKey([]byte("foo"))
	w.startBlock(5000) // window 2: filters 0 {foo} and 1 (empty)
	w.addKey([]byte("bar"))
	good := append([]byte(nil), w.finish()...)

	fb, err := DecodeFilterBlock(good, "f.ldb", 99)
	require.NoError(t, err)
	require.Equal(t, 3, fb.Len())
	p := BuiltinFilterPolicy(BloomFilterName)
	f0, ok := fb.Filter(100)
	require.True(t, ok)
	require.True(t, p.MayContain(f0, []byte("foo")))
	f1, ok := fb.Filter(2048)
	require.True(t, ok)
	require.Empty(t, f1, "a window without blocks has an empty filter")
	f2, ok := fb.Filter(5000)
	require.True(t, ok)
	require.True(t, p.MayContain(f2, []byte("bar")))
	_, ok = fb.Filter(3 << 11)
	require.False(t, ok, "past the last filter")
	var zero FilterBlock
	_, ok = zero.Filter(0)
	require.False(t, ok)
	require.Zero(t, zero.Len())

	huge := bytes.Clone(good)
	huge[len(huge)-1] = 200 // base lg past 63: every block is in window 0
	fh, err := DecodeFilterBlock(huge, "f.ldb", 99)
	require.NoError(t, err)
	f, ok := fh.Filter(1 << 40)
	require.True(t, ok)
	require.Equal(t, f0, f)

	tail := good[len(good)-17:] // three offsets, offsets_start, base lg
	start := len(good) - 17
	for _, c := range []struct {
		name string
		data []byte
		what string
	}{
		{"too short", []byte{0, 0, 0, 11}, "filter block of 4 bytes is too short"},
		{"offsets start past the block", []byte{0, 0, 0, 0, 0xff, 0, 0, 0, 11}, "filter offsets start 255 past the block"},
		{"offsets not whole", append(bytes.Clone(good[:start]), append([]byte{0}, tail...)...), "is not a multiple of 4"},
		{"offsets decrease", func() []byte {
			d := bytes.Clone(good)
			coding.PutFixed32(d[start:], 12) // filter 0 starts at 12, filter 1 before it (9)
			return d
		}(), "filter 1 offset"},
		{"offset past the filters", func() []byte {
			d := bytes.Clone(good)
			coding.PutFixed32(d[start+8:], uint32(start+1))
			return d
		}(), "out of order or past the filters"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeFilterBlock(c.data, "f.ldb", 99)
			requireCorruptAt(t, err, "f.ldb", 99, c.what)
		})
	}
}

func TestBuiltinFilterPolicy(t *testing.T) {
	f := NewBloomPolicy(10).AppendFilter(nil, [][]byte{[]byte("k")})
	for _, name := range []string{BloomFilterName, LegacyBloomFilterName} {
		p := BuiltinFilterPolicy(name)
		require.NotNil(t, p, name)
		require.True(t, p.MayContain(f, []byte("k")))
	}
	require.Nil(t, BuiltinFilterPolicy("strata.test.Other"))
	require.Nil(t, BuiltinFilterPolicy(FilterMetaPrefix+BloomFilterName), "names come without the prefix")
}
