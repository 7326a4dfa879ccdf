package sstable

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/iterator"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/testutil/iterutil"
)

// The harness runs one suite over every layer that holds sorted entries (a single block, a
// whole table) and every option set, checking each against a sorted slice: forward and
// backward scans, random seeks and steps, and, for tables, Get of every key and of absent ones
// and sorted batches through a Getter.

// harnessOpts is one option set of the table suite.
type harnessOpts struct {
	compression Compression
	bloom       bool
	blockSize   int
	restart     int
	cmp         keys.Comparator
}

func (o harnessOpts) String() string {
	return fmt.Sprintf("comp=%s/bloom=%t/block=%d/restart=%d/cmp=%s", o.compression, o.bloom, o.blockSize, o.restart, o.cmp.Name())
}

func (o harnessOpts) writer() WriterOptions {
	w := WriterOptions{Comparator: o.cmp, BlockSize: o.blockSize, RestartInterval: o.restart, Compression: o.compression}
	if o.bloom {
		w.Filter = NewBloomPolicy(10)
	}
	return w
}

func allHarnessOpts() []harnessOpts {
	var out []harnessOpts
	for _, c := range []Compression{SnappyCompression, NoCompression} {
		for _, bloom := range []bool{true, false} {
			for _, bs := range []int{1 << 10, 4 << 10, 64 << 10} {
				for _, ri := range []int{1, 16} {
					out = append(out, harnessOpts{c, bloom, bs, ri, keys.Bytewise})
				}
			}
		}
	}
	// A comparator that is not bytewise, on a few option sets.
	out = append(out,
		harnessOpts{SnappyCompression, true, 1 << 10, 16, reverseCmp{}},
		harnessOpts{NoCompression, false, 4 << 10, 1, reverseCmp{}})
	return out
}

// model is a sorted slice with iterator positions, the reference every layer is checked
// against.
type model struct {
	es    []kv
	cmp   keys.Comparator
	steps int // random steps and probes per suite
}

func (m *model) seekGE(k []byte) int {
	return sort.Search(len(m.es), func(i int) bool { return m.cmp.Compare(m.es[i].k, k) >= 0 })
}

// checkAt asserts that it is positioned at model position pos (-1 or len = invalid).
func (m *model) checkAt(t *testing.T, it iterator.Iterator, valid bool, pos int, what string) {
	t.Helper()
	want := pos >= 0 && pos < len(m.es)
	require.NoError(t, it.Error(), what)
	require.Equal(t, want, valid, "%s: return value", what)
	require.Equal(t, want, it.Valid(), "%s: Valid", what)
	if want {
		require.True(t, bytes.Equal(m.es[pos].k, it.Key()), "%s: key %q, want %q", what, trunc(it.Key()), trunc(m.es[pos].k))
		require.True(t, bytes.Equal(m.es[pos].v, it.Value()), "%s: value of %q differs", what, trunc(m.es[pos].k))
	}
}

func trunc(b []byte) []byte {
	if len(b) > 40 {
		return append(b[:40:40], "..."...)
	}
	return b
}

// probeKey returns a key to seek to: an existing key, a neighbour of one, or a random key.
func (m *model) probeKey(rng *rand.Rand) []byte {
	if len(m.es) == 0 || rng.IntN(5) == 0 {
		return randBytes(rng, rng.IntN(10))
	}
	k := m.es[rng.IntN(len(m.es))].k
	switch rng.IntN(4) {
	case 0:
		return k
	case 1:
		return append(append([]byte(nil), k...), 0)
	case 2:
		if len(k) > 0 {
			return k[:len(k)-1]
		}
		return k
	default:
		c := append([]byte(nil), k...)
		if len(c) > 0 {
			c[len(c)-1]++
		}
		return c
	}
}

// runIterSuite checks forward and backward scans and random positioning of it.
func runIterSuite(t *testing.T, rng *rand.Rand, m *model, it iterator.Iterator) {
	t.Helper()
	n := len(m.es)
	// Forward scan.
	ok := it.First()
	for i := 0; i < n; i++ {
		m.checkAt(t, it, ok, i, fmt.Sprintf("forward %d", i))
		ok = it.Next()
	}
	m.checkAt(t, it, ok, n, "forward end")
	// Backward scan.
	ok = it.Last()
	for i := n - 1; i >= 0; i-- {
		m.checkAt(t, it, ok, i, fmt.Sprintf("backward %d", i))
		ok = it.Prev()
	}
	m.checkAt(t, it, ok, -1, "backward end")
	// Random steps and seeks, as leveldb's harness does, through the iterator model the other
	// packages use, seeking to m's probe keys.
	entries := make([]iterutil.Entry, n)
	for i, e := range m.es {
		entries[i] = iterutil.Entry{Key: e.k, Value: e.v}
	}
	iterutil.CheckAgainstModel(t, it, &iterutil.Model{Cmp: m.cmp.Compare, Entries: entries, SeekKey: m.probeKey,
		Format: func(k []byte) string { return fmt.Sprintf("%q", trunc(k)) }}, rng, m.steps)
	require.NoError(t, it.Close())
}

// runGetSuite checks Get of every key and of probe keys.
func runGetSuite(t *testing.T, rng *rand.Rand, m *model, r *Reader, ro ReadOptions) {
	t.Helper()
	var buf []byte
	for _, e := range m.es {
		k, v, err := r.Get(buf[:0], e.k, ro)
		require.NoError(t, err, "Get(%q)", trunc(e.k))
		require.True(t, bytes.Equal(e.k, k), "Get(%q) key %q", trunc(e.k), trunc(k))
		require.True(t, bytes.Equal(e.v, v), "Get(%q) value", trunc(e.k))
		buf = k
	}
	for i := 0; i < m.steps; i++ {
		probe := m.probeKey(rng)
		k, v, err := r.Get(nil, probe, ro)
		pos := m.seekGE(probe)
		if err != nil {
			require.True(t, errors.Is(err, dberr.ErrNotFound), "Get(%q): %v", trunc(probe), err)
			// A filter may only rule out keys that are absent.
			require.False(t, pos < len(m.es) && bytes.Equal(m.es[pos].k, probe), "Get(%q) lost a present key", trunc(probe))
			continue
		}
		// Whatever Get finds is the first entry at or after the probe.
		require.Less(t, pos, len(m.es), "Get(%q) found %q past the end", trunc(probe), trunc(k))
		require.True(t, bytes.Equal(m.es[pos].k, k), "Get(%q) = %q, want %q", trunc(probe), trunc(k), trunc(m.es[pos].k))
		require.True(t, bytes.Equal(m.es[pos].v, v))
	}
}

// dataSets returns the entry sets the suites run on.
func dataSets(rng *rand.Rand, cmp keys.Comparator) map[string][]kv {
	big := randomEntries(rng, 20, cmp, 50)
	big[7].v = randValue(rng, 4<<20)
	one := []kv{{k: []byte("k"), v: []byte("v")}}
	emptyKV := []kv{{k: []byte{}, v: []byte{}}}
	n := 1500
	if raceEnabled {
		n = 300
	}
	return map[string][]kv{
		"empty":     nil,
		"one":       one,
		"one-empty": emptyKV,
		"random":    randomEntries(rng, n, cmp, 300),
		"bigvalue":  big,
	}
}

// blockIterAdapter gives a blockIter the iterator.Iterator interface for the block suite.
type blockIterAdapter struct{ *blockIter }

func (a blockIterAdapter) Valid() bool   { return a.valid }
func (a blockIterAdapter) Key() []byte   { return a.key }
func (a blockIterAdapter) Value() []byte { return a.val }
func (a blockIterAdapter) Error() error  { return a.err }
func (a blockIterAdapter) Close() error  { return a.err }

func TestHarnessBlock(t *testing.T) {
	rng := rand.New(rand.NewPCG(newSeed(t), 1))
	for _, cmp := range []keys.Comparator{keys.Bytewise, reverseCmp{}} {
		for name, es := range dataSets(rng, cmp) {
			for _, ri := range []int{1, 2, 16} {
				t.Run(fmt.Sprintf("data=%s/restart=%d/cmp=%s", name, ri, cmp.Name()), func(t *testing.T) {
					bw := newBlockWriter(ri)
					for _, e := range es {
						bw.add(e.k, e.v)
					}
					data := append([]byte(nil), bw.finish()...)
					ord := newOrder(cmp)
					n, _, err := checkBlock(data, &ord, "block", 0, nil)
					require.NoError(t, err)
					require.Equal(t, len(es), n)
					b, ok := parseBlock(data)
					require.True(t, ok)
					bi := &blockIter{}
					bi.init(b, &ord, "block", 0)
					runIterSuite(t, rng, &model{es: es, cmp: cmp, steps: 300}, blockIterAdapter{bi})
				})
			}
		}
	}
}

func TestHarnessTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(newSeed(t), 2))
	sets := map[string]map[string][]kv{}
	for _, o := range allHarnessOpts() {
		name := o.cmp.Name()
		if sets[name] == nil {
			sets[name] = dataSets(rng, o.cmp)
		}
		for dname, es := range sets[name] {
			steps := 300
			if dname == "bigvalue" {
				// Every step may read and check the 4 MiB block: fewer steps, fewer sets.
				if o.blockSize != 4<<10 || (raceEnabled && o.restart != 16) {
					continue
				}
				steps = 60
			}
			data, md := buildTable(t, o.writer(), es)
			require.Equal(t, uint64(len(es)), md.Entries)
			if len(es) > 0 {
				require.NotNil(t, md.Smallest)
				require.True(t, bytes.Equal(es[0].k, md.Smallest))
				require.True(t, bytes.Equal(es[len(es)-1].k, md.Largest))
			} else {
				require.Nil(t, md.Smallest)
			}
			for _, tfs := range testFSes(t) {
				for _, cached := range []bool{false, true} {
					// Each case draws from a generator of its own, seeded in a fixed order, so
					// that the cases run in parallel and a seed still replays them all.
					rng := rand.New(rand.NewPCG(rng.Uint64(), 3))
					t.Run(fmt.Sprintf("data=%s/%s/fs=%s/cache=%t", dname, o, tfs.name, cached), func(t *testing.T) {
						t.Parallel()
						ropts := ReaderOptions{Comparator: o.cmp}
						if o.bloom {
							ropts.Filter = NewBloomPolicy(10)
						}
						if cached {
							ropts.Cache = newMapCache()
						}
						r := writeFile(t, tfs, data, ropts)
						require.Equal(t, tfs.name == "os", r.Mapped(), "OS files are mapped, memory files are not")
						require.Equal(t, o.bloom, r.hasFilter())
						m := &model{es: es, cmp: o.cmp, steps: steps}
						for _, ro := range []ReadOptions{{}, {VerifyChecksums: true, DontFillCache: true}, {DontFillCache: true, Unmapped: true}} {
							runGetSuite(t, rng, m, r, ro)
							runGetterSuite(t, rng, m, r, ro)
							runIterSuite(t, rng, m, r.NewIterator(ro))
						}
					})
				}
			}
		}
	}
}
