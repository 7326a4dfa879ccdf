package db

// Shared helpers of the db test suite: seeds, long mode, a key/value model, and dumps of a DB and
// of a directory.

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/testutil/iterutil"
	"github.com/stratadb/strata/internal/vfs"
)

var (
	dbSeedFlag = flag.Uint64("seed", 0, "seed of the randomized db tests (0 = from the clock, or $STRATA_SEED); failures print theirs")
	dbLongFlag = flag.Bool("long", false, "run the randomized db tests long (more seeds, more operations; or $STRATA_LONG=1)")
)

// testSeed returns the seed of a randomized test and logs how to replay it. The -seed flag or
// $STRATA_SEED fix it; otherwise it comes from the clock.
func testSeed(t testing.TB) uint64 {
	t.Helper()
	seed := *dbSeedFlag
	if seed == 0 {
		if s := os.Getenv("STRATA_SEED"); s != "" {
			v, err := strconv.ParseUint(s, 10, 64)
			require.NoError(t, err, "STRATA_SEED")
			seed = v
		}
	}
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay: go test ./db -run '^%s$' -seed=%d)", seed, t.Name(), seed)
	return seed
}

// seedFixed reports whether the seed was given, so a test runs that one seed only.
func seedFixed() bool { return *dbSeedFlag != 0 || os.Getenv("STRATA_SEED") != "" }

// longMode reports whether the randomized tests run in their long mode.
func longMode() bool { return *dbLongFlag || os.Getenv("STRATA_LONG") == "1" }

// newRand returns a deterministic generator for seed.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// openMemErr opens "/db" on fs and returns Open's error.
func openMemErr(fs vfs.FS, opts *Options) (*DB, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.fs = fs
	return Open("/db", &o)
}

// kv is the model of a DB's contents: key -> value.
type kv map[string]string

// entries returns m's pairs in bytewise key order, restricted to [lower, upper) (nil = unbounded).
func (m kv) entries(lower, upper []byte) []iterutil.Entry {
	out := make([]iterutil.Entry, 0, len(m))
	for k, v := range m {
		if lower != nil && k < string(lower) || upper != nil && k >= string(upper) {
			continue
		}
		out = append(out, iterutil.Entry{Key: []byte(k), Value: []byte(v)})
	}
	slices.SortFunc(out, func(a, b iterutil.Entry) int { return bytes.Compare(a.Key, b.Key) })
	return out
}

// dump reads every key and value of d (through ro) with a forward iterator.
func dump(t testing.TB, d *DB, ro *ReadOptions) kv {
	t.Helper()
	it := d.NewIterator(ro)
	got := kv{}
	var prev []byte
	for ok := it.First(); ok; ok = it.Next() {
		if prev != nil {
			require.Less(t, string(prev), string(it.Key()), "iterator keys out of order")
		}
		prev = append(prev[:0], it.Key()...)
		got[string(it.Key())] = string(it.Value())
	}
	require.NoError(t, it.Error())
	require.NoError(t, it.Close())
	return got
}

// requireSame fails t with a short description of the first differences between want and got.
func requireSame(t testing.TB, want, got kv, msgAndArgs ...any) {
	t.Helper()
	if maps.Equal(want, got) {
		return
	}
	var diffs []string
	for k, v := range want {
		if g, ok := got[k]; !ok {
			diffs = append(diffs, "missing "+short(k))
		} else if g != v {
			diffs = append(diffs, "wrong value at "+short(k)+": got "+short(g)+", want "+short(v))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, "unexpected "+short(k)+"="+short(got[k]))
		}
	}
	slices.Sort(diffs)
	require.Failf(t, "contents differ", "%d differences, first: %q; %v", len(diffs), diffs[:min(len(diffs), 8)], msgAndArgs)
}

// short quotes s, cut to a readable length.
func short(s string) string {
	if len(s) > 40 {
		return strconv.Quote(s[:40]) + "...(" + strconv.Itoa(len(s)) + " bytes)"
	}
	return strconv.Quote(s)
}

// dirState is every file of a directory with its contents, to prove an Open changed nothing.
func dirState(t testing.TB, fs vfs.FS, dir string) map[string]string {
	t.Helper()
	names, err := fs.List(dir)
	require.NoError(t, err)
	state := make(map[string]string, len(names))
	for _, n := range names {
		f, err := fs.Open(filepath.Join(dir, n))
		require.NoError(t, err)
		b, err := io.ReadAll(f)
		require.NoError(t, err)
		require.NoError(t, f.Close())
		state[n] = string(b)
	}
	return state
}

// dbIter adapts an Iterator to the internal iterator contract, for iterutil.CheckAgainstModel.
type dbIter struct{ *Iterator }

func (i dbIter) SeekGE(key []byte) bool { return i.Seek(key) }

// numFiles returns the number of tables at level.
func numFiles(t testing.TB, d *DB, level int) int {
	t.Helper()
	s, ok := d.Property("leveldb.num-files-at-level" + strconv.Itoa(level))
	require.True(t, ok)
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}

// randValue returns n pseudo-random bytes (incompressible, so table sizes follow data sizes).
func randValue(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// isNotFound reports err is ErrNotFound.
func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// writeTestFile replaces path on fs with b, synced.
func writeTestFile(t *testing.T, fs vfs.FS, path string, b []byte) {
	t.Helper()
	f, err := fs.Create(path)
	require.NoError(t, err)
	_, err = f.Write(b)
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
}
