package sstable

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/coding"
	"github.com/stratadb/strata/internal/crc"
	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/testutil/datadriven"
)

// Byte-level tests: every value here is derived by hand from the format (docs/format/table.md),
// not read back from the code under test.

// leveldb's hash test vectors (util/hash_test.cc), which pin the unsigned treatment of tail
// bytes.
func TestHashVectors(t *testing.T) {
	data5 := []byte{
		0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
		0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	}
	require.Equal(t, uint32(0xbc9f1d34), leveldbHash(nil, 0xbc9f1d34))
	require.Equal(t, uint32(0xef1345c4), leveldbHash([]byte{0x62}, 0xbc9f1d34))
	require.Equal(t, uint32(0x5b663814), leveldbHash([]byte{0xc3, 0x97}, 0xbc9f1d34))
	require.Equal(t, uint32(0x323c078f), leveldbHash([]byte{0xe2, 0x99, 0xa5}, 0xbc9f1d34))
	require.Equal(t, uint32(0xed21633a), leveldbHash([]byte{0xe1, 0x80, 0xb9, 0x32}, 0xbc9f1d34))
	require.Equal(t, uint32(0xf333dabb), leveldbHash(data5, 0x12345678))
}

func TestBloomProbeCount(t *testing.T) {
	// k = floor(bits_per_key * 0.69), clamped to [1, 30].
	for bpk, k := range map[int]int{0: 1, 1: 1, 2: 1, 3: 2, 10: 6, 16: 11, 20: 13, 43: 29, 44: 30, 100: 30} {
		f := NewBloomPolicy(bpk).AppendFilter(nil, [][]byte{[]byte("x")})
		require.Equal(t, byte(k), f[len(f)-1], "bits per key %d", bpk)
	}
}

// TestBloomBits checks a filter bit by bit against the spec: m = max(n*10, 64) bits rounded to
// bytes, probes h % m stepping by h rotated right 17 bits.
func TestBloomBits(t *testing.T) {
	for _, n := range []int{0, 1, 2, 6, 7, 100} {
		ks := make([][]byte, n)
		for i := range ks {
			ks[i] = []byte(fmt.Sprintf("key-%d", i))
		}
		prefix := []byte("existing")
		f := NewBloomPolicy(10).AppendFilter(append([]byte(nil), prefix...), ks)
		require.Equal(t, prefix, f[:len(prefix)], "AppendFilter appends")
		f = f[len(prefix):]

		m := max(n*10, 64)
		nbytes := (m + 7) / 8
		m = nbytes * 8
		require.Len(t, f, nbytes+1)
		require.Equal(t, byte(6), f[nbytes])

		want := make([]byte, nbytes)
		for _, k := range ks {
			h := leveldbHash(k, 0xbc9f1d34)
			delta := h>>17 | h<<15
			for j := 0; j < 6; j++ {
				pos := h % uint32(m)
				want[pos/8] |= 1 << (pos % 8)
				h += delta
			}
		}
		require.Equal(t, want, f[:nbytes], "n=%d", n)
		for _, k := range ks {
			require.True(t, NewBloomPolicy(10).MayContain(f, k))
		}
	}
	// One key, by hand: the filter is 8 bytes of bits and k=6 in the ninth.
	f := NewBloomPolicy(10).AppendFilter(nil, [][]byte{[]byte("hello")})
	require.Len(t, f, 9)
	set := 0
	for _, b := range f[:8] {
		for ; b != 0; b &= b - 1 {
			set++
		}
	}
	require.LessOrEqual(t, set, 6)
	require.Positive(t, set)
}

func TestBloomEdgeFilters(t *testing.T) {
	p := NewBloomPolicy(10)
	require.False(t, p.MayContain(nil, []byte("a")), "a filter under 2 bytes matches nothing")
	require.False(t, p.MayContain([]byte{6}, []byte("a")))
	// k above 30 is reserved: everything may match.
	require.True(t, p.MayContain([]byte{0, 0, 0, 0, 0, 0, 0, 0, 31}, []byte("a")))
	require.True(t, p.MayContain([]byte{0, 0xff}, []byte("a")))
	// k == 0 matches everything too (no probe can fail).
	require.True(t, p.MayContain([]byte{0, 0}, []byte("a")))
	// All bits clear, k = 6: nothing matches.
	require.False(t, p.MayContain([]byte{0, 0, 0, 0, 0, 0, 0, 0, 6}, []byte("a")))
	require.Equal(t, BloomFilterName, p.Name())
}

// TestBloomFalsePositiveRate measures the rate at 10 bits per key over 1,000,000 absent keys,
// for one filter and through a table.
func TestBloomFalsePositiveRate(t *testing.T) {
	const present, absent = 10_000, 1_000_000
	rng := rand.New(rand.NewPCG(newSeed(t), 7))
	seen := make(map[string]bool, present)
	ks := make([][]byte, present)
	for i := range ks {
		ks[i] = randBytesFull(rng, 16)
		seen[string(ks[i])] = true
	}
	p := NewBloomPolicy(10)
	f := p.AppendFilter(nil, ks)
	for _, k := range ks {
		require.True(t, p.MayContain(f, k), "no false negatives")
	}
	fp, n := 0, 0
	probe := make([]byte, 16)
	for n < absent {
		for i := range probe {
			probe[i] = byte(rng.Uint32())
		}
		if seen[string(probe)] {
			continue
		}
		n++
		if p.MayContain(f, probe) {
			fp++
		}
	}
	rate := float64(fp) / absent
	t.Logf("bloom false-positive rate at 10 bits/key: %.3f%% (%d of %d absent keys)", 100*rate, fp, absent)
	require.LessOrEqual(t, rate, 0.015)

	// Through a table: Get of absent keys is answered by the filter of the block the index
	// points at (one filter per 2 KiB window, each holding the keys of one or two blocks).
	es := make([]kv, 0, 20000)
	for i := 0; i < cap(es); i++ {
		es = append(es, kv{k: randBytesFull(rng, 16), v: randValue(rng, 100)})
	}
	sortEntries(es, keys.Bytewise)
	data, _ := buildTable(t, WriterOptions{Filter: NewBloomPolicy(10)}, es)
	r, err := openBytes(t, "fp.ldb", data, ReaderOptions{Filter: NewBloomPolicy(10)})
	require.NoError(t, err)
	passed := 0
	const probes = 200_000
	for i := 0; i < probes; i++ {
		k := randBytesFull(rng, 16)
		if j := r.index.seekGE(&r.ord, k); j < len(r.index.ents) && r.filter.mayContain(r.index.ents[j].h.Offset, k) {
			passed++
		}
	}
	t.Logf("table filters: %d of %d absent keys passed (%.3f%%)", passed, probes, 100*float64(passed)/probes)
	require.LessOrEqual(t, float64(passed)/probes, 0.015)
}

// TestBloomNeighbourKeys records a property of leveldb's hash that Strata inherits by
// matching it bit for bit: multiplication only carries bits upwards, so keys that differ only
// in the high bytes of their last 4-byte word (a big-endian counter at the end of the key, say)
// get hashes that differ in few bits, and a filter holding one such key often admits its
// neighbour. The nominal 1% holds for keys that differ elsewhere.
func TestBloomNeighbourKeys(t *testing.T) {
	keyBE := func(i int) []byte { return binary.BigEndian.AppendUint64([]byte("user-key"), uint64(i)) }
	keyLE := func(i int) []byte { return binary.LittleEndian.AppendUint64([]byte("user-key"), uint64(i)) }
	rate := func(key func(int) []byte) float64 {
		p := NewBloomPolicy(10)
		fp, n := 0, 0
		for base := 0; base < 100_000; base += 320 {
			var ks [][]byte
			for i := 0; i < 160; i++ {
				ks = append(ks, key(base+2*i))
			}
			f := p.AppendFilter(nil, ks)
			for i := 0; i < 160; i++ {
				n++
				if p.MayContain(f, key(base+2*i+1)) {
					fp++
				}
			}
		}
		return float64(fp) / float64(n)
	}
	be, le := rate(keyBE), rate(keyLE)
	t.Logf("neighbour false positives: big-endian counter suffix %.1f%%, little-endian %.2f%%", 100*be, 100*le)
	require.Less(t, le, 0.015)
	require.Greater(t, be, 0.2, "if this fails the hash no longer matches leveldb's")
}

// TestFilterBlockLayout follows a filter block through leveldb's construction rule, with
// offsets and lengths derived by hand: a two-key filter at 10 bits/key is 64 bits = 8 bytes
// plus the probe byte.
func TestFilterBlockLayout(t *testing.T) {
	empty := newFilterWriter(NewBloomPolicy(10), identityKey)
	empty.startBlock(0)
	require.Equal(t, []byte{0, 0, 0, 0, 11}, empty.finish(), "no keys: just offsets_start 0 and base lg 11")

	w := newFilterWriter(NewBloomPolicy(10), identityKey)
	w.startBlock(0)
	w.addKey([]byte("foo"))
	w.startBlock(2000) // still window 0
	w.addKey([]byte("bar"))
	w.startBlock(3100) // window 1: emits filter 0 {foo, bar}
	w.addKey([]byte("box"))
	w.startBlock(9000) // window 4: emits filter 1 {box}, then empty filters 2 and 3
	w.addKey([]byte("box"))
	w.addKey([]byte("hello"))
	fb := append([]byte(nil), w.finish()...) // filter 4 {box, hello}

	require.Len(t, fb, 27+5*4+4+1)
	require.Equal(t, byte(11), fb[len(fb)-1])
	start := coding.Fixed32(fb[len(fb)-5:])
	require.Equal(t, uint32(27), start)
	var offs []uint32
	for i := 0; i < 5; i++ {
		offs = append(offs, coding.Fixed32(fb[27+4*i:]))
	}
	require.Equal(t, []uint32{0, 9, 18, 18, 18}, offs)
	require.Equal(t, NewBloomPolicy(10).AppendFilter(nil, [][]byte{[]byte("foo"), []byte("bar")}), fb[0:9])
	require.Equal(t, NewBloomPolicy(10).AppendFilter(nil, [][]byte{[]byte("box")}), fb[9:18])

	fr, err := parseFilter(fb, NewBloomPolicy(10), "f", 0)
	require.NoError(t, err)
	require.Equal(t, 5, fr.num)
	for _, c := range []struct {
		off  uint64
		key  string
		want bool
	}{
		{0, "foo", true}, {2000, "bar", true}, {0, "box", false}, {0, "hello", false},
		{3100, "box", true}, {3100, "foo", false}, {3100, "bar", false}, {3100, "hello", false},
		{4100, "foo", false}, {4100, "box", false}, {6200, "box", false}, // empty filters
		{9000, "box", true}, {9000, "hello", true}, {9000, "foo", false}, {9000, "bar", false},
		{20000, "anything", true}, // past the filters: may match
	} {
		require.Equal(t, c.want, fr.mayContain(c.off, []byte(c.key)), "offset %d key %s", c.off, c.key)
	}
}

// TestBlockLayout builds the blocks of testdata/block.txt ("block restart=N [reset]", then one
// "key value" line per entry; with reset the writer is reset after them) and prints their bytes read by the entry grammar: each entry's offset,
// shared and unshared key lengths, value length, key suffix and value, and whether a restart
// points at it; then the restart array. The size estimate must be the finished size.
func TestBlockLayout(t *testing.T) {
	datadriven.RunTest(t, "testdata/block.txt", func(t *testing.T, td *datadriven.TestData) string {
		restart, _ := td.Arg("restart")
		n, err := strconv.Atoi(restart)
		require.NoError(t, err)
		w := newBlockWriter(n)
		for _, line := range strings.Split(td.Input, "\n") {
			if k, v, ok := strings.Cut(line, " "); ok || k != "" {
				w.add([]byte(k), []byte(v))
			}
		}
		if td.HasArg("reset") {
			w.reset()
		}
		est := w.estimate()
		b := w.finish()
		require.Equal(t, est, len(b), "the size estimate is exact")
		return blockText(t, b)
	})
}

// blockText reads a block by the grammar of docs/format/table.md.
func blockText(t *testing.T, b []byte) string {
	numRestarts := int(binary.LittleEndian.Uint32(b[len(b)-4:]))
	end := len(b) - 4 - 4*numRestarts
	restarts := map[int]bool{}
	var out, offs []string
	for i := range numRestarts {
		off := int(binary.LittleEndian.Uint32(b[end+4*i:]))
		restarts[off] = true
		offs = append(offs, strconv.Itoa(off))
	}
	for pos := 0; pos < end; {
		start := pos
		var f [3]uint64
		for i := range f {
			v, n := binary.Uvarint(b[pos:])
			require.Positive(t, n, "a varint at %d", pos)
			f[i], pos = v, pos+n
		}
		key := b[pos : pos+int(f[1])]
		value := b[pos+int(f[1]) : pos+int(f[1]+f[2])]
		pos += int(f[1] + f[2])
		line := fmt.Sprintf("%d: shared=%d unshared=%d value=%d %q %q", start, f[0], f[1], f[2], key, value)
		if restarts[start] {
			line += " (restart)"
		}
		out = append(out, line)
	}
	out = append(out, fmt.Sprintf("restarts: [%s], %d bytes", strings.Join(offs, " "), len(b)))
	return strings.Join(out, "\n")
}

// TestEmptyTableBytes checks a whole table byte for byte: no entries, no filter, no
// compression gives an empty metaindex block, an empty index block and the footer.
func TestEmptyTableBytes(t *testing.T) {
	data, md := buildTable(t, WriterOptions{Compression: NoCompression}, nil)
	emptyBlock := []byte{0, 0, 0, 0, 1, 0, 0, 0}
	trailer := func(contents []byte) []byte {
		sum := crc.Mask(crc.Extend(crc.Value(contents), []byte{0}))
		return coding.AppendFixed32([]byte{0}, sum)
	}
	var want []byte
	want = append(want, emptyBlock...)
	want = append(want, trailer(emptyBlock)...) // metaindex at 0, size 8
	want = append(want, emptyBlock...)
	want = append(want, trailer(emptyBlock)...) // index at 13, size 8
	footer := []byte{0, 8, 13, 8}
	footer = append(footer, make([]byte, 36)...)
	footer = append(footer, 0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb)
	want = append(want, footer...)
	require.Equal(t, want, data)
	require.Equal(t, uint64(74), md.Size)
	require.Zero(t, md.Entries)

	r, err := openBytes(t, "empty.ldb", data, ReaderOptions{})
	require.NoError(t, err)
	it := r.NewIterator(ReadOptions{})
	require.False(t, it.First())
	require.False(t, it.Last())
	require.False(t, it.SeekGE([]byte("a")))
	require.False(t, it.SeekLT([]byte("a")))
	require.NoError(t, it.Close())
	_, _, err = r.Get(nil, []byte("a"), ReadOptions{})
	require.ErrorIs(t, err, dberr.ErrNotFound)
	require.Equal(t, uint64(0), r.ApproximateOffsetOf([]byte("a")))
}

func TestFooterAndHandles(t *testing.T) {
	f := Footer{Metaindex: BlockHandle{Offset: 1 << 40, Size: 300}, Index: BlockHandle{Offset: 5, Size: 1<<64 - 1}}
	b := f.appendTo(nil)
	require.Len(t, b, FooterLen)
	require.Equal(t, []byte{0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb}, b[40:])
	got, err := decodeFooter(b, "x", 0)
	require.NoError(t, err)
	require.Equal(t, f, got)
	// Two maximal handles fill the 40 bytes exactly.
	max := BlockHandle{Offset: 1<<64 - 1, Size: 1<<64 - 1}
	require.Len(t, max.AppendTo(nil), MaxHandleLen)
	b = Footer{Metaindex: max, Index: max}.appendTo(nil)
	require.Len(t, b, FooterLen)

	require.Equal(t, []byte{0x96, 0x01, 0x05}, BlockHandle{Offset: 150, Size: 5}.AppendTo(nil))
	h, n := decodeHandle([]byte{0x96, 0x01, 0x05, 0xff})
	require.Equal(t, 3, n)
	require.Equal(t, BlockHandle{Offset: 150, Size: 5}, h)
	_, n = decodeHandle([]byte{0x96})
	require.LessOrEqual(t, n, 0)
}

// TestBlockCutRule checks leveldb's rule: a block is cut right after the entry that brings
// the size estimate (which equals the finished size) to BlockSize or more.
func TestBlockCutRule(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	var es []kv
	for i := 0; i < 3000; i++ {
		es = append(es, kv{k: []byte(fmt.Sprintf("key%08d", i)), v: randValue(rng, rng.IntN(200))})
	}
	const bs = 4096
	data, _ := buildTable(t, WriterOptions{Compression: NoCompression, BlockSize: bs}, es)
	r, err := openBytes(t, "cut.ldb", data, ReaderOptions{})
	require.NoError(t, err)
	l := r.Layout()
	require.Greater(t, len(l.Index), 10)
	for i, ie := range l.Index {
		contents, typ, err := r.ReadBlock(ie.Handle)
		require.NoError(t, err)
		require.Equal(t, byte(0), typ)
		var last RawEntry
		var n int
		restarts := 0
		require.NoError(t, WalkBlock(contents, func(e RawEntry) bool {
			last, n = e, n+1
			if e.Restart {
				restarts++
			}
			return true
		}))
		if i == len(l.Index)-1 {
			continue
		}
		require.GreaterOrEqual(t, len(contents), bs, "block %d", i)
		// Without its last entry the estimate was still under the target.
		before := last.Offset + 4*restarts + 4
		if last.Restart {
			before -= 4
		}
		require.Less(t, before, bs, "block %d was cut late", i)
	}
}

// TestIndexSeparators checks that index keys are shortened separators and the last one a
// short successor.
func TestIndexSeparators(t *testing.T) {
	var es []kv
	for i := 0; i < 200; i++ {
		// Long keys that differ early: separators can be much shorter.
		es = append(es, kv{k: []byte(fmt.Sprintf("%05d-the-quick-brown-fox-%0100d", 3*i, i)), v: make([]byte, 100)})
	}
	data, _ := buildTable(t, WriterOptions{BlockSize: 512, Compression: NoCompression}, es)
	r, err := openBytes(t, "sep.ldb", data, ReaderOptions{})
	require.NoError(t, err)
	l := r.Layout()
	require.Greater(t, len(l.Index), 20)
	pos, short := 0, 0
	for i, ie := range l.Index {
		contents, _, err := r.ReadBlock(ie.Handle)
		require.NoError(t, err)
		var lastKey []byte
		require.NoError(t, WalkBlock(contents, func(e RawEntry) bool {
			lastKey = append(lastKey[:0], e.Key...)
			pos++
			return true
		}))
		var want []byte
		if i+1 < len(l.Index) {
			want = keys.Bytewise.Separator(nil, lastKey, es[pos].k)
		} else {
			want = keys.Bytewise.Successor(nil, lastKey)
		}
		require.Equal(t, string(want), string(ie.Separator), "index entry %d", i)
		if len(ie.Separator) <= 5 {
			short++
		}
	}
	require.Greater(t, short, len(l.Index)/2, "most separators are shortened")
	require.Equal(t, "1", string(l.Index[len(l.Index)-1].Separator), `the successor of "00597-..." is "1"`)
}

// TestCompressionChoice: snappy is used only when it saves 12.5%; otherwise the block is raw.
func TestCompressionChoice(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	compressible := []kv{{k: []byte("a"), v: bytes.Repeat([]byte("abcd"), 1000)}}
	random := []kv{{k: []byte("a"), v: randBytesFull(rng, 4000)}}
	for _, c := range []struct {
		name string
		es   []kv
		comp Compression
		want byte
	}{
		{"compressible/snappy", compressible, SnappyCompression, typeSnappy},
		{"compressible/default", compressible, DefaultCompression, typeSnappy},
		{"compressible/none", compressible, NoCompression, typeNone},
		{"random/snappy", random, SnappyCompression, typeNone},
	} {
		t.Run(c.name, func(t *testing.T) {
			data, _ := buildTable(t, WriterOptions{Compression: c.comp}, c.es)
			r, err := openBytes(t, "c.ldb", data, ReaderOptions{})
			require.NoError(t, err)
			_, typ, err := r.ReadBlock(r.Layout().Index[0].Handle)
			require.NoError(t, err)
			require.Equal(t, c.want, typ)
		})
	}
}

func randBytesFull(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// TestWriterBuffersWrites: the Writer writes in 64 KiB pieces, not once per block.
func TestWriterBuffersWrites(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	var cw countingWriter
	w := NewWriter(&cw, WriterOptions{Compression: NoCompression})
	for i := 0; i < 10000; i++ {
		require.NoError(t, w.Add([]byte(fmt.Sprintf("%08d", i)), randValue(rng, 100)))
	}
	md, err := w.Finish()
	require.NoError(t, err)
	require.Equal(t, md.Size, uint64(cw.n))
	blocks := md.Size / 4096
	require.Less(t, cw.calls, int(md.Size/(60<<10))+2, "%d write calls for %d blocks", cw.calls, blocks)
}

type countingWriter struct {
	n, calls int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += len(p)
	c.calls++
	return len(p), nil
}
