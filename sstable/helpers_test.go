package sstable

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/vfs"
)

// kv is one entry of a test model.
type kv struct{ k, v []byte }

// mapCache is a trivial BlockCache: a map under a mutex, with counters.
type mapCache struct {
	mu         sync.Mutex
	m          map[[2]uint64][]byte
	gets, hits atomic.Int64
	sets       atomic.Int64
}

func newMapCache() *mapCache { return &mapCache{m: make(map[[2]uint64][]byte)} }

func (c *mapCache) Get(fileNum, offset uint64) ([]byte, bool) {
	c.gets.Add(1)
	c.mu.Lock()
	b, ok := c.m[[2]uint64{fileNum, offset}]
	c.mu.Unlock()
	if ok {
		c.hits.Add(1)
	}
	return b, ok
}

func (c *mapCache) Set(fileNum, offset uint64, block []byte) {
	c.sets.Add(1)
	c.mu.Lock()
	c.m[[2]uint64{fileNum, offset}] = block
	c.mu.Unlock()
}

var fileNums atomic.Uint64

// countingFile counts ReadAt calls. It embeds only vfs.File, so it is never vfs.Mappable: a
// Reader over it takes the ReadAt path.
type countingFile struct {
	vfs.File
	readAts atomic.Int64
}

func (f *countingFile) ReadAt(p []byte, off int64) (int, error) {
	f.readAts.Add(1)
	return f.File.ReadAt(p, off)
}

// testFS names a filesystem for the suites: the OS (tables are mapped) or memory (ReadAt).
type testFS struct {
	name string
	fs   vfs.FS
	dir  string
}

func testFSes(t testing.TB) []testFS {
	return []testFS{
		{"os", vfs.NewOS(), t.TempDir()},
		{"mem", vfs.NewMem(), "/"},
	}
}

// buildTable writes entries (sorted under opts.Comparator) to bytes in memory.
func buildTable(t testing.TB, opts WriterOptions, entries []kv) ([]byte, Metadata) {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, opts)
	for _, e := range entries {
		require.NoError(t, w.Add(e.k, e.v))
	}
	md, err := w.Finish()
	require.NoError(t, err)
	require.Equal(t, uint64(buf.Len()), md.Size)
	return buf.Bytes(), md
}

// writeFile stores data as a file on fs and opens a Reader on it; the reader and the file are
// closed when the test ends.
func writeFile(t testing.TB, tfs testFS, data []byte, ropts ReaderOptions) *Reader {
	t.Helper()
	name := filepath.Join(tfs.dir, fmt.Sprintf("%06d.ldb", fileNums.Add(1)))
	f, err := tfs.fs.Create(name)
	require.NoError(t, err)
	_, err = f.Write(data)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	rf, err := tfs.fs.Open(name)
	require.NoError(t, err)
	if ropts.FileNum == 0 {
		ropts.FileNum = fileNums.Add(1)
	}
	r, err := Open(rf, name, int64(len(data)), ropts)
	if err != nil {
		rf.Close()
		require.NoError(t, err)
	}
	t.Cleanup(func() {
		require.NoError(t, r.Close())
		require.NoError(t, rf.Close())
	})
	return r
}

// memFile returns a fresh in-memory file named name that holds data, open for reading.
func memFile(t testing.TB, name string, data []byte) vfs.File {
	t.Helper()
	f, err := vfs.NewMem().Create(name)
	require.NoError(t, err)
	_, err = f.Write(data)
	require.NoError(t, err)
	return f
}

// openBytes opens a Reader over data in a fresh in-memory file named name. It returns the
// error from Open rather than failing.
func openBytes(t testing.TB, name string, data []byte, ropts ReaderOptions) (*Reader, error) {
	t.Helper()
	r, err := Open(memFile(t, name, data), name, int64(len(data)), ropts)
	if err == nil {
		t.Cleanup(func() { r.Close() })
	}
	return r, err
}

// randomEntries returns n distinct entries sorted by cmp. Keys share prefixes (to exercise
// prefix compression) and include the empty key; every bigKeyEvery'th key is up to 10,000
// bytes. Values are 0 to maxVal bytes, half of them compressible.
func randomEntries(rng *rand.Rand, n int, cmp keys.Comparator, maxVal int) []kv {
	seen := make(map[string]bool)
	var out []kv
	var prev []byte
	for len(out) < n {
		var k []byte
		switch r := rng.IntN(100); {
		case len(out) == 0:
			k = nil // the empty key
		case r < 2:
			k = randBytes(rng, 1000+rng.IntN(9001))
		case r < 50 && len(prev) > 0:
			k = append(append([]byte(nil), prev[:rng.IntN(len(prev)+1)]...), randBytes(rng, rng.IntN(8))...)
		default:
			k = randBytes(rng, rng.IntN(24))
		}
		if seen[string(k)] {
			continue
		}
		seen[string(k)] = true
		prev = k
		out = append(out, kv{k: k, v: randValue(rng, rng.IntN(maxVal+1))})
	}
	sortEntries(out, cmp)
	return out
}

func sortEntries(es []kv, cmp keys.Comparator) {
	sort.Slice(es, func(i, j int) bool { return cmp.Compare(es[i].k, es[j].k) < 0 })
}

// randBytes returns n random bytes from a small alphabet (so keys share prefixes and collide
// in interesting ways) with the occasional 0x00 and 0xff.
func randBytes(rng *rand.Rand, n int) []byte {
	const alphabet = "\x00abcdefgh\xfe\xff"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return b
}

// randValue returns n bytes, about half of them compressible, like db_bench's generator.
func randValue(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	raw := n / 2
	for i := 0; i < raw; i++ {
		b[i] = byte(' ' + rng.IntN(95))
	}
	for i := raw; i < n; i++ {
		b[i] = b[i%max(raw, 1)]
		if raw == 0 {
			b[i] = 'x'
		}
	}
	return b
}

// reverseCmp orders keys backwards, to run the suites under a comparator that is not
// bytewise (as leveldb's harness does).
type reverseCmp struct{}

func (reverseCmp) Compare(a, b []byte) int { return bytes.Compare(b, a) }
func (reverseCmp) Name() string            { return "strata.test.Reverse" }
func (reverseCmp) Separator(dst, a, b []byte) []byte {
	return append(dst, a...)
}
func (reverseCmp) Successor(dst, a []byte) []byte { return append(dst, a...) }

// newSeed returns a seed and logs it; set SSTABLE_SEED to replay a failure.
func newSeed(t testing.TB) uint64 {
	seed := rand.Uint64()
	if s := os.Getenv("SSTABLE_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "SSTABLE_SEED")
		seed = v
	}
	t.Logf("seed %d (replay with SSTABLE_SEED=%d)", seed, seed)
	return seed
}
