//go:build cleveldb

package db_test

// Whole-directory interoperability with C++ leveldb 1.23 (through internal/cleveldb), on the
// real filesystem:
//
//   - a DB that C++ wrote (several levels, deletions, overwrites, and writes left unflushed in
//     its log at Close, which leveldb 1.23 does not flush) opens in Strata with every key and
//     value exact; Strata writes more and closes; C++ opens it again with everything exact;
//   - a DB that Strata wrote and closed (several levels, deletions, snappy and bloom filters)
//     opens in C++ with everything exact, and C++'s counting filter policy shows that it used
//     Strata's filters;
//   - each holds the LOCK file against the other. fcntl locks belong to a process, so the
//     holder runs in a child process (this test binary, re-executed through childproc).
//
// Run with `go test -tags cleveldb ./db/`.

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/db"
	"github.com/stratadb/strata/internal/cleveldb"
	"github.com/stratadb/strata/internal/testutil/childproc"
	"github.com/stratadb/strata/internal/testutil/workload"
)

// interopModel is what the DB must hold, and every key ever written: those not in the model
// were deleted and must read as absent.
type interopModel struct {
	workload.Model
	written map[string]bool
}

func newInteropModel() *interopModel {
	return &interopModel{Model: workload.Model{}, written: map[string]bool{}}
}

func (m *interopModel) apply(ops ...workload.Op) {
	m.Apply(ops...)
	for k := range workload.Touched(ops) {
		m.written[k] = true
	}
}

// interopKey returns key i: mostly short printable keys in order of i, some with binary bytes
// (0x00, 0xff) and some 1,000 to 2,000 bytes long. Key -1 is the empty key.
func interopKey(i int) []byte {
	if i < 0 {
		return []byte{}
	}
	k := []byte(fmt.Sprintf("key%07d", i))
	switch {
	case i%89 == 0:
		k = append(k, 0x00, 0xff, 0x00)
	case i%97 == 0:
		k = append(k, bytes.Repeat([]byte{'L'}, 1000+i%1000)...)
	}
	return k
}

// interopAbsentKey returns a key that is never written, sorting between keys i and i+1.
func interopAbsentKey(i int) []byte { return append(interopKey(i), "~absent"...) }

// interopShape is the workload of the interoperability tests on keys [0, interopKeys): puts of
// new and existing keys (overwrites), deletes, and batches of 1 to 20 of both. Values are 0 to
// 300 bytes (half random, half one letter repeated) and, with big, one in 150 between 20 and
// 120 KiB. Without big values, 800 entries fill two to three 64 KiB memtables.
func interopShape(big bool) workload.Shape {
	s := workload.Shape{
		Keys: interopKeys, KeyFunc: func(i int) string { return string(interopKey(i)) },
		Values:       []workload.Band{{Weight: 149, Max: 300}},
		RandomValues: true,
		Put:          70, Delete: 15, Batch: 15,
		BatchMin: 1, BatchMax: 20, BatchDeletes: 4,
	}
	if big {
		s.Values = append(s.Values, workload.Band{Weight: 1, Min: 20 << 10, Max: 120 << 10})
	}
	return s
}

// interopWriter writes one write of a workload to a DB, of either implementation.
type interopWriter func(op workload.Op) error

// interopWorkload writes to w, and applies to the model, writes of g's shape until they hold n
// entries.
func interopWorkload(t *testing.T, g *workload.Gen, w interopWriter, m *interopModel, n int) {
	t.Helper()
	for done := 0; done < n; {
		op := g.Next()
		require.NoError(t, w(op))
		m.apply(op)
		done += len(op.Entries)
	}
}

// interopFill writes first, then puts every key of the key space once, in order.
func interopFill(t *testing.T, g *workload.Gen, w interopWriter, m *interopModel, first ...workload.Op) {
	t.Helper()
	ops := first
	for i := range interopKeys {
		ops = append(ops, g.PutAt(i))
	}
	for _, op := range ops {
		require.NoError(t, w(op))
	}
	m.apply(ops...)
}

func interopPut(k, v string) workload.Op {
	return workload.Op{Kind: workload.Put, Entries: []workload.Entry{{Key: k, Value: v}}}
}

func interopCppWriter(d *cleveldb.DB) interopWriter {
	return func(op workload.Op) error {
		var b cleveldb.Batch
		op.AddTo(&b)
		return d.Write(&b, false)
	}
}

func interopStrataWriter(d *db.DB) interopWriter {
	return func(op workload.Op) error {
		var b db.Batch
		op.AddTo(&b)
		return d.Write(&b, nil)
	}
}

// interopLevels returns the number of table files at each level, from the leveldb property
// both implementations offer.
func interopLevels(t *testing.T, prop func(string) (string, bool)) []int {
	t.Helper()
	var files []int
	for level := 0; level < 7; level++ {
		s, ok := prop(fmt.Sprintf("leveldb.num-files-at-level%d", level))
		require.True(t, ok)
		n, err := strconv.Atoi(strings.TrimSpace(s))
		require.NoError(t, err)
		files = append(files, n)
	}
	return files
}

// interopRequireLevels asserts tables in level 0 and in at least one deeper level.
func interopRequireLevels(t *testing.T, who string, files []int) {
	t.Helper()
	t.Logf("%s: table files per level %v", who, files)
	deeper := 0
	for _, n := range files[1:] {
		if n > 0 {
			deeper++
		}
	}
	require.Positive(t, files[0], "%s: level 0 should hold tables", who)
	require.Positive(t, deeper, "%s: a level below 0 should hold tables", who)
}

// interopSeed returns a seed, printed so that a failure can be replayed with
// STRATA_INTEROP_SEED.
func interopSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("STRATA_INTEROP_SEED"); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err)
	}
	t.Logf("seed %d (replay with STRATA_INTEROP_SEED=%d)", seed, seed)
	return seed
}

// interopReader is the read side of a DB for the checks, for either implementation: Get, and
// an iterator.
type interopReader struct {
	get  func(k []byte) (v []byte, found bool, err error)
	iter func() interopIter
}

// interopIter is an iterator of either implementation; Close returns its error.
type interopIter interface {
	First() bool
	Last() bool
	Next() bool
	Prev() bool
	Seek(k []byte) bool
	Key() []byte
	Value() []byte
	Close() error
}

// cppIter names C++ leveldb's iterator calls as Strata's.
type cppIter struct{ *cleveldb.Iterator }

func (i cppIter) First() bool { return i.SeekToFirst() }
func (i cppIter) Last() bool  { return i.SeekToLast() }

func interopStrataReader(d *db.DB) interopReader {
	return interopReader{
		get: func(k []byte) ([]byte, bool, error) {
			v, err := d.Get(k, nil)
			if errors.Is(err, db.ErrNotFound) {
				return nil, false, nil
			}
			return v, err == nil, err
		},
		iter: func() interopIter { return d.NewIterator(nil) },
	}
}

func interopCppReader(d *cleveldb.DB) interopReader {
	return interopReader{get: d.Get, iter: func() interopIter { return cppIter{d.NewIterator()} }}
}

// scan walks the whole DB forward (reverse=false) or backward and returns the entries.
func (r interopReader) scan(reverse bool) ([][2][]byte, error) {
	it := r.iter()
	var out [][2][]byte
	ok, step := it.First(), it.Next
	if reverse {
		ok, step = it.Last(), it.Prev
	}
	for ; ok; ok = step() {
		out = append(out, [2][]byte{bytes.Clone(it.Key()), bytes.Clone(it.Value())})
	}
	return out, it.Close()
}

// seek returns the entry at or after k, if any.
func (r interopReader) seek(k []byte) (key, value []byte, ok bool, err error) {
	it := r.iter()
	if ok = it.Seek(k); ok {
		key, value = bytes.Clone(it.Key()), bytes.Clone(it.Value())
	}
	return key, value, ok, it.Close()
}

// interopRequireModel checks that r holds exactly the model: Get of every live key (exact value), of
// every deleted key and of absent keys (not found), full scans in both directions, and seeks.
func interopRequireModel(t *testing.T, who string, r interopReader, m *interopModel, keys int) {
	t.Helper()
	sorted := slices.Sorted(maps.Keys(m.Model))
	for _, k := range sorted {
		v, found, err := r.get([]byte(k))
		require.NoError(t, err, "%s: Get(%s)", who, workload.Short(k))
		require.True(t, found, "%s: key %s lost", who, workload.Short(k))
		require.True(t, m.Model[k] == string(v), "%s: key %s has a wrong value (%d bytes, want %d)",
			who, workload.Short(k), len(v), len(m.Model[k]))
	}
	for k := range m.written {
		if _, live := m.Model[k]; live {
			continue
		}
		_, found, err := r.get([]byte(k))
		require.NoError(t, err)
		require.False(t, found, "%s: deleted key %s is back", who, workload.Short(k))
	}
	for i := 0; i < keys; i += 13 {
		_, found, err := r.get(interopAbsentKey(i))
		require.NoError(t, err)
		require.False(t, found, "%s: never-written key found", who)
	}

	for _, reverse := range []bool{false, true} {
		got, err := r.scan(reverse)
		require.NoError(t, err, "%s: scan", who)
		require.Len(t, got, len(sorted), "%s: scan (reverse=%v) entries", who, reverse)
		for i, e := range got {
			j := i
			if reverse {
				j = len(sorted) - 1 - i
			}
			require.Equal(t, sorted[j], string(e[0]), "%s: scan (reverse=%v) entry %d", who, reverse, i)
			require.True(t, m.Model[sorted[j]] == string(e[1]), "%s: scan value of %s", who, workload.Short(sorted[j]))
		}
	}

	for i := -1; i < keys; i += 37 {
		for _, target := range [][]byte{interopKey(i), interopAbsentKey(i)} {
			j := sort.SearchStrings(sorted, string(target))
			k, v, ok, err := r.seek(target)
			require.NoError(t, err)
			if j == len(sorted) {
				require.False(t, ok, "%s: Seek(%s) past the end found %q", who, workload.Short(string(target)), k)
				continue
			}
			require.True(t, ok, "%s: Seek(%s)", who, workload.Short(string(target)))
			require.Equal(t, sorted[j], string(k), "%s: Seek(%s)", who, workload.Short(string(target)))
			require.True(t, m.Model[sorted[j]] == string(v))
		}
	}
}

// interopUnflushed writes 200 small puts and deletes (far less than a memtable, so that they
// stay in the log) and returns how many key and value bytes they carry.
func interopUnflushed(t *testing.T, g *workload.Gen, w interopWriter, m *interopModel) int64 {
	t.Helper()
	shape := g.Shape
	defer func() { g.Shape = shape }()
	g.Shape.Values, g.Shape.Put, g.Shape.Delete, g.Shape.Batch = []workload.Band{{Weight: 1, Min: 10, Max: 20}}, 3, 1, 0
	var n int64
	for _, op := range g.Take(200) {
		require.NoError(t, w(op))
		m.apply(op)
		for _, e := range op.Entries {
			n += int64(len(e.Key) + len(e.Value))
		}
	}
	return n
}

// interopNewestLog returns the size of the directory's newest .log file.
func interopNewestLog(t *testing.T, dir string) (name string, size int64) {
	t.Helper()
	logs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	require.NoError(t, err)
	require.NotEmpty(t, logs, "no log file in %s", dir)
	sort.Strings(logs) // fixed-width numbers: the last is the newest
	fi, err := os.Stat(logs[len(logs)-1])
	require.NoError(t, err)
	return filepath.Base(logs[len(logs)-1]), fi.Size()
}

// interopLeveled writes through one implementation (who) a DB of several levels, deletions and
// overwrites, and writes left only in its log at Close, and closes it:
//
//   - every key once (and the empty key, holding empty), then everything compacted: the data
//     moves below level 0 (leveldb's CompactRange ends at the deepest level that holds data,
//     here 1 or 2);
//   - overwrites and deletions: two or three more memtables; the first is flushed to level 1 (it
//     overlaps level 2 but nothing above), the others to level 0. Fewer than four level-0 files
//     start no compaction;
//   - a CompactRange of a range holding no keys flushes the memtable and compacts nothing; the
//     writes after it, far less than a memtable, are only in the log when Close returns (leveldb
//     1.23 does not flush on close).
//
// No reads before Close: they could start seek compactions and change the shape.
func interopLeveled(t *testing.T, who, dir string, g *workload.Gen, m *interopModel, w interopWriter,
	compact func(start, limit []byte) error, prop func(string) (string, bool), close func() error, empty string) {
	t.Helper()
	interopFill(t, g, w, m, interopPut("", empty))
	require.NoError(t, compact(nil, nil))
	g.Shape = interopShape(false)
	interopWorkload(t, g, w, m, 800)
	require.NoError(t, compact([]byte("zzz"), []byte("zzz")))
	unflushed := interopUnflushed(t, g, w, m)
	interopRequireLevels(t, who, interopLevels(t, prop))
	require.NoError(t, close())
	logName, logSize := interopNewestLog(t, dir)
	t.Logf("%s left %s of %d bytes holding %d bytes of keys and values", who, logName, logSize, unflushed)
	require.GreaterOrEqual(t, logSize, unflushed, "the last writes should be in the log, unflushed")
}

const (
	interopKeys        = 3000
	interopWriteBuffer = 64 << 10 // leveldb's minimum: many flushes from little data
)

// TestInteropLeveldbDBOpensInStrata: C++ writes a DB with several levels, deletions,
// overwrites and an unflushed log; Strata opens it, checks it, writes more and closes; C++
// opens it again and checks everything.
func TestInteropLeveldbDBOpensInStrata(t *testing.T) {
	g := workload.New(interopSeed(t), "i", interopShape(true))
	dir := t.TempDir()
	m := newInteropModel()
	copts := cleveldb.Options{CreateIfMissing: true, WriteBufferSize: interopWriteBuffer,
		Compression: true, BloomBitsPerKey: 10}

	cdb, err := cleveldb.Open(dir, copts)
	require.NoError(t, err)
	interopLeveled(t, "C++", dir, g, m, interopCppWriter(cdb), cdb.CompactRange, cdb.Property, cdb.Close, "the empty key")

	// Strata opens it: recovery replays the log; every key is exact.
	sopts := &db.Options{WriteBufferSize: interopWriteBuffer}
	sdb, err := db.Open(dir, sopts)
	require.NoError(t, err)
	interopRequireModel(t, "Strata reading C++'s DB", interopStrataReader(sdb), m, interopKeys)

	// Strata writes more (flushes and unflushed writes), then closes.
	g.Shape = interopShape(true)
	interopWorkload(t, g, interopStrataWriter(sdb), m, 1500)
	require.NoError(t, sdb.CompactRange(interopKey(0), interopKey(interopKeys/3)))
	interopUnflushed(t, g, interopStrataWriter(sdb), m)
	interopRequireModel(t, "Strata after its writes", interopStrataReader(sdb), m, interopKeys)
	require.NoError(t, sdb.Close())

	// C++ opens what Strata left.
	cdb, err = cleveldb.Open(dir, cleveldb.Options{BloomBitsPerKey: 10, ParanoidChecks: true, VerifyChecksums: true})
	require.NoError(t, err)
	interopRequireModel(t, "C++ reading Strata's writes", interopCppReader(cdb), m, interopKeys)
	t.Logf("C++ after Strata: table files per level %v", interopLevels(t, cdb.Property))
	require.NoError(t, cdb.Close())
}

// TestInteropStrataDBOpensInLeveldb: Strata writes and closes a DB with several levels,
// deletions, snappy and bloom filters; C++ opens it with every key exact and uses its filters.
func TestInteropStrataDBOpensInLeveldb(t *testing.T) {
	g := workload.New(interopSeed(t), "i", interopShape(true))
	dir := t.TempDir()
	m := newInteropModel()
	sdb := interopOpenStrataBloom(t, dir)
	// C++ must replay Strata's log too.
	interopLeveled(t, "Strata", dir, g, m, interopStrataWriter(sdb), sdb.CompactRange, sdb.Property, sdb.Close, "")

	cdb, err := cleveldb.Open(dir, cleveldb.Options{BloomBitsPerKey: 10, CountFilter: true,
		ParanoidChecks: true, VerifyChecksums: true})
	require.NoError(t, err)
	// Absent keys first, before C++'s seek compactions rewrite many of Strata's tables: every
	// Get consults the filter of at least one table, and nearly all say no.
	calls, neg := interopAbsentGets(t, cdb)
	require.GreaterOrEqual(t, calls, int64(interopKeys), "C++ must consult the filters")
	require.Positive(t, neg)
	require.GreaterOrEqual(t, float64(neg), 0.95*float64(calls), "the filters must rule out absent keys")
	interopRequireModel(t, "C++ reading Strata's DB", interopCppReader(cdb), m, interopKeys)
	t.Logf("C++ after reading: table files per level %v", interopLevels(t, cdb.Property))
	require.NoError(t, cdb.Close())
}

// interopOpenStrataBloom opens a Strata DB in dir with a small write buffer, snappy and
// 10-bit bloom filters: tables C++ must decompress and whose filters it must use.
func interopOpenStrataBloom(t *testing.T, dir string) *db.DB {
	t.Helper()
	sdb, err := db.Open(dir, &db.Options{WriteBufferSize: interopWriteBuffer,
		Compression: db.SnappyCompression, BloomBitsPerKey: 10})
	require.NoError(t, err)
	return sdb
}

// interopAbsentGets gets interopKeys absent keys, each between two present ones, with C++ and
// returns how many filter checks that took and how many said no.
func interopAbsentGets(t *testing.T, cdb *cleveldb.DB) (calls, negatives int64) {
	t.Helper()
	calls0, neg0 := cdb.FilterStats()
	for i := 0; i < interopKeys; i++ {
		_, found, err := cdb.Get(interopAbsentKey(i))
		require.NoError(t, err)
		require.False(t, found)
	}
	calls, negatives = cdb.FilterStats()
	calls, negatives = calls-calls0, negatives-neg0
	t.Logf("C++ Get of %d absent keys: %d filter checks, %d ruled out", interopKeys, calls, negatives)
	return calls, negatives
}

// interopTables returns the names of the directory's table files.
func interopTables(t *testing.T, dir string) []string {
	t.Helper()
	ts, err := filepath.Glob(filepath.Join(dir, "*.ldb"))
	require.NoError(t, err)
	sort.Strings(ts)
	return ts
}

// TestInteropLeveldbUsesStrataFilters makes every filter C++ consults one that Strata wrote:
// Strata's tables in a single level (so each Get reads one table, charges no seek and
// triggers no compaction) and no log to recover, and C++ writes no table of its own. Each absent key inside the key range asks exactly one filter, and every present key
// passes its filter.
func TestInteropLeveldbUsesStrataFilters(t *testing.T) {
	g := workload.New(interopSeed(t), "i", interopShape(true))
	dir := t.TempDir()
	m := newInteropModel()
	sdb := interopOpenStrataBloom(t, dir)
	interopFill(t, g, interopStrataWriter(sdb), m)
	interopWorkload(t, g, interopStrataWriter(sdb), m, 1000)
	require.NoError(t, sdb.CompactRange(nil, nil))
	levels := interopLevels(t, sdb.Property)
	t.Logf("Strata: table files per level %v", levels)
	nonEmpty := 0
	for _, n := range levels {
		if n > 0 {
			nonEmpty++
		}
	}
	require.Equal(t, 1, nonEmpty, "after CompactRange(nil, nil) one level holds everything")
	require.NoError(t, sdb.Close())
	tables := interopTables(t, dir)

	cdb, err := cleveldb.Open(dir, cleveldb.Options{BloomBitsPerKey: 10, CountFilter: true})
	require.NoError(t, err)
	defer func() { require.NoError(t, cdb.Close()) }()
	calls, neg := interopAbsentGets(t, cdb)
	// Keys past the last table or in a gap between two tables of the level skip the filter:
	// a handful at most. Every other absent key asks exactly one filter.
	require.LessOrEqual(t, calls, int64(interopKeys))
	require.GreaterOrEqual(t, calls, int64(interopKeys*9/10), "one filter check per absent key")
	require.GreaterOrEqual(t, float64(neg), 0.95*float64(calls))

	calls0, neg0 := cdb.FilterStats()
	for k, want := range m.Model {
		v, found, err := cdb.Get([]byte(k))
		require.NoError(t, err)
		require.True(t, found)
		require.True(t, want == string(v))
	}
	calls, neg = cdb.FilterStats()
	require.Equal(t, int64(len(m.Model)), calls-calls0, "one filter check per present key")
	require.Zero(t, neg-neg0, "a Strata filter ruled out a present key")
	// C++ wrote no table (it may have deleted files Strata left obsolete): every filter it
	// consulted was Strata's.
	after := interopTables(t, dir)
	require.NotEmpty(t, after)
	require.Subset(t, tables, after, "the tables C++ read must be Strata's")
}

// The lock tests. fcntl locks belong to a process: two opens in one process do not exclude
// each other at the fcntl level (and closing either releases both), so the holder runs in a
// child process.

const (
	interopLockHolderEnv = "STRATA_INTEROP_LOCK_HOLDER" // "strata" or "cleveldb"
	interopLockDirEnv    = "STRATA_INTEROP_LOCK_DIR"
)

// TestInteropLockHolder is not a test: it is the child process of TestInteropLock. It opens
// the DB with the implementation the environment names, writes a key, says it is ready, holds
// the DB until the parent releases it, and closes it.
func TestInteropLockHolder(t *testing.T) {
	impl, dir := os.Getenv(interopLockHolderEnv), os.Getenv(interopLockDirEnv)
	if impl == "" {
		t.Skip("the child process of TestInteropLock")
	}
	var closeDB func() error
	switch impl {
	case "strata":
		d, err := db.Open(dir, nil)
		require.NoError(t, err)
		require.NoError(t, d.Put([]byte("holder"), []byte(impl), nil))
		closeDB = d.Close
	case "cleveldb":
		d, err := cleveldb.Open(dir, cleveldb.Options{CreateIfMissing: true})
		require.NoError(t, err)
		require.NoError(t, d.Put([]byte("holder"), []byte(impl), false))
		closeDB = d.Close
	default:
		t.Fatalf("unknown holder %q", impl)
	}
	childproc.Serve("holding the lock")
	require.NoError(t, closeDB())
}

// interopHoldInChild starts a child process that opens dir with impl and holds it; release closes the
// DB in the child and waits for it to exit.
func interopHoldInChild(t *testing.T, impl, dir string) (release func()) {
	t.Helper()
	_, release = childproc.Hold(t, "TestInteropLockHolder", interopLockHolderEnv+"="+impl, interopLockDirEnv+"="+dir)
	return release
}

// TestInteropLock: while Strata holds a DB, C++ leveldb cannot open it, and while C++ holds
// one, Strata's Open fails with ErrLocked; once the holder closes, the other opens it and sees
// the holder's write.
func TestInteropLock(t *testing.T) {
	if os.Getenv(interopLockHolderEnv) != "" {
		t.Skip("in the holder process")
	}
	t.Run("strata holds, leveldb refused", func(t *testing.T) {
		dir := t.TempDir()
		release := interopHoldInChild(t, "strata", dir)
		_, err := cleveldb.Open(dir, cleveldb.Options{})
		require.Error(t, err, "C++ leveldb opened a DB that Strata holds")
		var ce *cleveldb.Error
		require.ErrorAs(t, err, &ce)
		require.Equal(t, cleveldb.IOError, ce.Code, "%v", err)
		require.Contains(t, err.Error(), "lock")
		t.Logf("C++ leveldb: %v", err)
		release()

		cdb, err := cleveldb.Open(dir, cleveldb.Options{})
		require.NoError(t, err, "C++ opens it once Strata closed it")
		v, found, err := cdb.Get([]byte("holder"))
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, "strata", string(v))
		require.NoError(t, cdb.Close())
	})
	t.Run("leveldb holds, strata refused", func(t *testing.T) {
		dir := t.TempDir()
		release := interopHoldInChild(t, "cleveldb", dir)
		d, err := db.Open(dir, nil)
		if err == nil {
			d.Close()
		}
		require.ErrorIs(t, err, db.ErrLocked, "Strata opened a DB that C++ leveldb holds")
		t.Logf("Strata: %v", err)
		release()

		d, err = db.Open(dir, nil)
		require.NoError(t, err, "Strata opens it once C++ closed it")
		v, err := d.Get([]byte("holder"), nil)
		require.NoError(t, err)
		require.Equal(t, "cleveldb", string(v))
		require.NoError(t, d.Close())
	})
}
