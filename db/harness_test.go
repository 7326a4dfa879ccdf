package db

// The machinery the db tests share: seeds and long mode, opening a DB on a MemFS, the model of
// a DB's contents (workload.Model) and the dumps and comparisons against it, and files read,
// written and listed. The workload the randomized tests write is in workload_test.go, the one
// crash-point driver in crash_test.go, the one fault-phase driver in reliability_fault_test.go,
// the one randomized model in model_test.go and the datadriven API cases in api_test.go.

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/testutil/filetest"
	"github.com/stratadb/strata/internal/testutil/workload"
	"github.com/stratadb/strata/vfs"
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

// sized returns n; with -short, short; in long mode, long.
func sized(n, short, long int) int {
	switch {
	case longMode():
		return long
	case testing.Short():
		return short
	}
	return n
}

// forSeeds runs f as a subtest "seed=N" for n seeds in a row from testSeed, or for the one
// seed given.
func forSeeds(t *testing.T, n int, f func(t *testing.T, seed uint64)) {
	if seedFixed() {
		n = 1
	}
	base := testSeed(t)
	for i := range n {
		seed := base + uint64(i)
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Logf("replay: go test ./db -run '^%s$' -seed=%d", t.Name(), seed)
			f(t, seed)
		})
	}
}

// newRand returns a deterministic generator for seed.
func newRand(seed uint64) *rand.Rand { return workload.NewRand(seed) }

// randValue returns n pseudo-random bytes (incompressible, so table sizes follow data sizes).
func randValue(rng *rand.Rand, n int) []byte { return workload.RandomBytes(rng, n) }

// openMem opens "/db" on fs (an in-memory filesystem, usually) and fails t if it cannot.
func openMem(t testing.TB, fs vfs.FS, opts *Options) *DB {
	t.Helper()
	d, err := openMemErr(fs, opts)
	require.NoError(t, err)
	return d
}

// openMemErr opens "/db" on fs and returns Open's error.
func openMemErr(fs vfs.FS, opts *Options) (*DB, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.FS = fs
	return Open("/db", &o)
}

// kv is the model of a DB's contents: key -> value.
type kv = workload.Model

// applyOp writes op to d.
func applyOp(d *DB, op workload.Op) error {
	wo := &WriteOptions{Sync: op.Sync}
	switch op.Kind {
	case workload.Put:
		return d.Put([]byte(op.Entries[0].Key), []byte(op.Entries[0].Value), wo)
	case workload.Delete:
		return d.Delete([]byte(op.Entries[0].Key), wo)
	}
	var b Batch
	op.AddTo(&b)
	return d.Write(&b, wo)
}

// applyOpTxn is applyOp with each batch committed as a transaction that first reads the batch's
// first key (so that its commit is checked, not a blind write).
func applyOpTxn(d *DB, op workload.Op) error {
	if op.Kind != workload.Batch {
		return applyOp(d, op)
	}
	tx := d.NewTransaction()
	defer tx.Discard()
	if _, err := tx.Get([]byte(op.Entries[0].Key)); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	op.AddTo(txnBatcher{tx})
	return tx.Commit(&WriteOptions{Sync: op.Sync})
}

// txnBatcher adds a workload's entries to a transaction.
type txnBatcher struct{ tx *Transaction }

func (b txnBatcher) Put(key, value []byte) { _ = b.tx.Put(key, value) }
func (b txnBatcher) Delete(key []byte)     { _ = b.tx.Delete(key) }

// dump reads every key and value of d (through ro) with a forward iterator, requiring them in
// strictly increasing key order.
func dump(t testing.TB, d *DB, ro *ReadOptions) kv {
	t.Helper()
	it := d.NewIterator(ro)
	got := kv{}
	var prev []byte
	for ok := it.First(); ok; ok = it.Next() {
		if prev != nil && string(prev) >= string(it.Key()) {
			require.Failf(t, "iterator keys out of order", "%s after %s", short(string(it.Key())), short(string(prev)))
		}
		prev = append(prev[:0], it.Key()...)
		got[string(it.Key())] = string(it.Value())
	}
	require.NoError(t, it.Error())
	require.NoError(t, it.Close())
	return got
}

// requireSame fails t with a short description of the first differences between want and got;
// format and args say what is compared.
func requireSame(t testing.TB, want, got kv, format string, args ...any) {
	t.Helper()
	workload.RequireEqual(t, want, got, format, args...)
}

// requireGets requires Get of each of keys through ro to agree with want.
func requireGets(t testing.TB, d *DB, ro *ReadOptions, want kv, keys []string, what string) {
	t.Helper()
	for _, k := range keys {
		v, err := d.Get([]byte(k), ro)
		w, ok := want[k]
		switch {
		case ok && (err != nil || w != string(v)):
			require.NoError(t, err, "%s: Get(%s)", what, short(k))
			require.Failf(t, "wrong value", "%s: Get(%s) = %s, want %s", what, short(k), short(string(v)), short(w))
		case !ok && !isNotFound(err):
			require.ErrorIs(t, err, ErrNotFound, "%s: Get(%s) found %s", what, short(k), short(string(v)))
		}
	}
}

// short quotes s, cut to a readable length.
func short(s string) string { return workload.Short(s) }

// isNotFound reports err is ErrNotFound.
func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// dbIter adapts an Iterator to the internal iterator contract, for iterutil.CheckAgainstModel.
type dbIter struct{ *Iterator }

func (i dbIter) SeekGE(key []byte) bool { return i.Seek(key) }

// numFiles returns the number of tables at level.
func numFiles(t testing.TB, d *DB, level int) int { return levelCounts(t, d)[level] }

// levelCounts returns the number of tables per level, from leveldb.num-files-at-level<N>.
func levelCounts(t testing.TB, d *DB) [compaction.NumLevels]int {
	t.Helper()
	var n [compaction.NumLevels]int
	for level := range n {
		n[level] = intProperty(t, d, "leveldb.num-files-at-level"+strconv.Itoa(level))
	}
	return n
}

// intProperty returns the value of a property that is a number.
func intProperty(t testing.TB, d *DB, name string) int {
	t.Helper()
	s, ok := d.Property(name)
	require.True(t, ok, name)
	n, err := strconv.Atoi(s)
	require.NoError(t, err, "%s is a number: %q", name, s)
	return n
}

// dirState is every file of a directory with its contents, to prove an Open changed nothing.
func dirState(t testing.TB, fs vfs.FS, dir string) map[string]string {
	t.Helper()
	names, err := fs.List(dir)
	require.NoError(t, err)
	state := make(map[string]string, len(names))
	for _, n := range names {
		state[n] = string(filetest.Read(t, fs, filepath.Join(dir, n)))
	}
	return state
}

// namesOfKind returns the names of dir's files of one kind, in order.
func namesOfKind(t testing.TB, fs vfs.FS, dir string, kind filenames.Kind) []string {
	t.Helper()
	names, err := fs.List(dir)
	require.NoError(t, err)
	var out []string
	for _, n := range names {
		if k, _, ok := filenames.Parse(n); ok && k == kind {
			out = append(out, n)
		}
	}
	return out
}

// tableFiles returns the numbers of /db's table files.
func tableFiles(t testing.TB, fs vfs.FS) map[uint64]bool {
	t.Helper()
	out := map[uint64]bool{}
	for _, n := range namesOfKind(t, fs, "/db", filenames.Table) {
		_, num, _ := filenames.Parse(n)
		out[num] = true
	}
	return out
}

// infoLogs returns the text of /db's LOG.old and LOG, the info logs of the last two opens.
func infoLogs(fs vfs.FS) string {
	old, _ := filetest.ReadErr(fs, filepath.Join("/db", filenames.OldInfoLogName))
	cur, _ := filetest.ReadErr(fs, filepath.Join("/db", filenames.InfoLogName))
	return string(old) + string(cur)
}
