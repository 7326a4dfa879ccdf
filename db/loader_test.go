package db

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/testutil/workload"
	"github.com/stratadb/strata/vfs"
)

// loadAll loads the entries through a Loader with the given buffer size and commits; with
// parallelMin > 0, Commit merges in parallel from that many entries on (1: always, on more than
// one core).
func loadAll(t testing.TB, d *DB, bufferSize, parallelMin int, entries []workload.Entry) {
	t.Helper()
	l, err := d.NewLoader(&LoaderOptions{BufferSize: bufferSize})
	require.NoError(t, err)
	if parallelMin > 0 {
		l.parallelMin = parallelMin
	}
	for _, e := range entries {
		require.NoError(t, l.Put([]byte(e.Key), []byte(e.Value)))
	}
	require.EqualValues(t, len(entries), l.Len())
	if parallelMin > 0 && runtime.GOMAXPROCS(0) > 1 && len(entries) >= 16 {
		require.NotEmpty(t, l.splits(), "a merge in parallel")
	}
	require.NoError(t, l.Commit())
}

// loadEntries draws n puts of keys from g's key space and of new keys ("n" + a number), some
// keys twice (the later value must win), the empty key and an empty value among them.
func loadEntries(g *workload.Gen, n int) []workload.Entry {
	rng := g.Rand()
	out := []workload.Entry{{Key: "", Value: "the empty key, loaded"}, {Key: "n-empty-value", Value: ""}}
	for i := 0; len(out) < n; i++ {
		var k string
		switch rng.IntN(4) {
		case 0:
			k = g.Key()
		case 1:
			if len(out) > 0 {
				k = out[rng.IntN(len(out))].Key // a key loaded before: this value replaces it
				break
			}
			fallthrough
		default:
			k = fmt.Sprintf("n%07d", rng.IntN(4*n))
		}
		out = append(out, workload.Entry{Key: k, Value: fmt.Sprintf("loaded %d %s", i, g.Value(0))})
	}
	return out
}

// requireNoLoadFiles requires that no temporary file of a load is left in /db.
func requireNoLoadFiles(t testing.TB, fs vfs.FS) {
	t.Helper()
	require.Empty(t, namesOfKind(t, fs, "/db", filenames.Temp), "bulk load runs left behind")
}

// A load into a new DB, in one buffer or in many runs, holds exactly the loaded keys (the last
// value of a key loaded twice), all of them at the bottom level, before and after a reopen,
// and leaves no temporary file.
func TestLoaderNewDB(t *testing.T) {
	for _, c := range []struct{ buf, parallelMin int }{{4 << 10, 0}, {64 << 10, 0}, {0, 0}, {4 << 10, 1}, {0, 1}} {
		buf := c.buf
		t.Run(fmt.Sprintf("buffer=%d/parallel=%v", buf, c.parallelMin > 0), func(t *testing.T) {
			fs := vfs.NewMem()
			opts := &Options{MaxFileSize: 1 << 20, BlockSize: 1 << 10}
			d := openMem(t, fs, opts)
			g := relGen(testSeed(t), "l")
			entries := loadEntries(g, 6000)
			big := workload.Entry{Key: "n-big", Value: strings.Repeat("v", 3<<20)}
			entries = append(entries, big)
			want := kv{}
			want.Apply(workload.Op{Kind: workload.Batch, Entries: entries})

			loadAll(t, d, buf, c.parallelMin, entries)
			requireSame(t, want, dump(t, d, nil), "after the load")
			requireGets(t, d, nil, want, append(slices.Collect(maps.Keys(want)), "absent", "n"), "after the load")
			counts := levelCounts(t, d)
			require.Positive(t, counts[compaction.NumLevels-1], "tables at the bottom level: %v", counts)
			require.Equal(t, counts[compaction.NumLevels-1], sumCounts(counts), "every table at the bottom level: %v", counts)
			requireNoLoadFiles(t, fs)
			if buf == 4<<10 {
				require.Greater(t, counts[compaction.NumLevels-1], 1, "a load larger than a table is cut into tables")
			}

			require.NoError(t, d.Close())
			d = openMem(t, fs, &Options{MaxFileSize: 1 << 20, BlockSize: 1 << 10, ParanoidChecks: true})
			requireSame(t, want, dump(t, d, &ReadOptions{VerifyChecksums: true}), "after a reopen")
			require.NoError(t, d.Close())
		})
	}
}

func sumCounts(c [compaction.NumLevels]int) int {
	n := 0
	for _, x := range c {
		n += x
	}
	return n
}

// A load into a DB with data everywhere (tables at several levels, a memtable, deletions)
// replaces the values of the keys it loads and adds the others, at once: a snapshot taken before
// sees none of it; writes after it win over it; a full compaction and a reopen keep the result.
func TestLoaderIntoTree(t *testing.T) {
	fs := vfs.NewMem()
	d := openMem(t, fs, compactionCrashOpts())
	want, g := fillLevels(t, d, testSeed(t))
	before := maps.Clone(want)
	snap := d.NewSnapshot()
	defer snap.Release()

	entries := loadEntries(g, 3000)
	loadAll(t, d, 16<<10, 1, entries) // merged in parallel
	want.Apply(workload.Op{Kind: workload.Batch, Entries: entries})
	requireSame(t, want, dump(t, d, nil), "after the load")
	requireSame(t, before, dump(t, d, &ReadOptions{Snapshot: snap}), "a snapshot taken before the load")
	requireNoLoadFiles(t, fs)

	// Later writes are newer than the load.
	k := entries[len(entries)-1].Key
	require.NoError(t, d.Put([]byte(k), []byte("after the load"), nil))
	require.NoError(t, d.Delete([]byte(entries[2].Key), nil))
	want[k] = "after the load"
	delete(want, entries[2].Key)
	requireSame(t, want, dump(t, d, nil), "writes after the load")
	require.NoError(t, d.CompactRange(nil, nil))
	requireSame(t, want, dump(t, d, nil), "after a full compaction")
	require.NoError(t, d.Close())
	d = openMem(t, fs, compactionCrashOpts())
	requireSame(t, want, dump(t, d, nil), "after a reopen")
	require.NoError(t, d.Close())
}

// Each loaded table goes to the deepest level where nothing at it or above overlaps it: a load
// disjoint from everything goes to the bottom, one that overlaps only a table just above that
// table's level, one that overlaps the memtable flushes it first and lands above its table.
func TestLoaderPlacement(t *testing.T) {
	d := openMem(t, vfs.NewMem(), &Options{MaxFileSize: 1 << 20})
	defer d.Close()
	put := func(prefix string, n int) {
		for i := range n {
			require.NoError(t, d.Put(fmt.Appendf(nil, "%s%05d", prefix, i), []byte("existing"), nil))
		}
	}
	load := func(prefix string, n int) {
		var es []workload.Entry
		for i := range n {
			es = append(es, workload.Entry{Key: fmt.Sprintf("%s%05d", prefix, i), Value: "loaded"})
		}
		loadAll(t, d, 0, 0, es)
	}
	put("b", 100)
	require.NoError(t, d.CompactRange(nil, nil))
	counts := levelCounts(t, d)
	existing := slices.IndexFunc(counts[:], func(n int) bool { return n > 0 })
	require.Positive(t, existing, "%v", levelCounts(t, d))

	load("d", 100) // disjoint from everything: the bottom level
	require.Equal(t, 1, numFiles(t, d, compaction.NumLevels-1), "%v", levelCounts(t, d))

	load("b", 50) // overlaps the existing table only: just above it
	require.Equal(t, 1, numFiles(t, d, existing-1), "%v", levelCounts(t, d))

	put("c", 10) // in the memtable
	load("c", 20)
	counts = levelCounts(t, d)
	require.Equal(t, 5, sumCounts(counts), "the memtable was flushed to a table of its own: %v", counts)
	require.Equal(t, 2, counts[existing-1], "the load lands above the flushed table: %v", counts)
	v, err := d.Get([]byte("c00005"), nil)
	require.NoError(t, err)
	require.Equal(t, "loaded", string(v), "the load is newer than the memtable's writes")
	v, err = d.Get([]byte("b00070"), nil)
	require.NoError(t, err)
	require.Equal(t, "existing", string(v))
}

// A write that commits while Commit merges makes it merge again above it, at the head of the
// commit queue: the load is newer than the write, and the snapshot taken in between does not
// see the load.
func TestLoaderWriteDuringMerge(t *testing.T) {
	d := openMem(t, vfs.NewMem(), nil)
	defer d.Close()
	var snap *Snapshot
	testLoadMerged = func(hd *DB) {
		if hd == d && snap == nil {
			require.NoError(t, d.Put([]byte("k2"), []byte("written during the merge"), nil))
			require.NoError(t, d.Put([]byte("z"), []byte("outside the load"), nil))
			snap = d.NewSnapshot()
		}
	}
	defer func() { testLoadMerged = nil }()
	loadAll(t, d, 0, 0, []workload.Entry{{Key: "k1", Value: "loaded"}, {Key: "k2", Value: "loaded"}, {Key: "k3", Value: "loaded"}})
	defer snap.Release()
	requireSame(t, kv{"k1": "loaded", "k2": "loaded", "k3": "loaded", "z": "outside the load"}, dump(t, d, nil), "after the load")
	requireSame(t, kv{"k2": "written during the merge", "z": "outside the load"}, dump(t, d, &ReadOptions{Snapshot: snap}), "the snapshot")
	m := d.Metrics()
	require.EqualValues(t, 1, m.Load.Remerges)
	require.EqualValues(t, 1, m.Load.Count)
	require.Positive(t, m.Load.BytesWritten)
	require.NoError(t, d.CompactRange(nil, nil))
	requireSame(t, kv{"k1": "loaded", "k2": "loaded", "k3": "loaded", "z": "outside the load"}, dump(t, d, nil), "after a compaction")
}

// A transaction that read a key the load writes, or scanned a range it writes into, conflicts;
// one that read only other keys commits.
func TestLoaderConflicts(t *testing.T) {
	d := openMem(t, vfs.NewMem(), nil)
	defer d.Close()
	require.NoError(t, d.Put([]byte("a"), []byte("1"), nil))
	require.NoError(t, d.Put([]byte("q"), []byte("1"), nil))

	read := d.NewTransaction()
	_, err := read.Get([]byte("a"))
	require.NoError(t, err)
	require.NoError(t, read.Put([]byte("b"), []byte("from read")))

	scan := d.NewTransaction()
	it := scan.NewIterator(&ReadOptions{})
	for ok := it.Seek([]byte("m")); ok && string(it.Key()) < "p"; ok = it.Next() {
	}
	require.NoError(t, it.Close())
	require.NoError(t, scan.Put([]byte("summary"), []byte("x")))

	other := d.NewTransaction()
	_, err = other.Get([]byte("q"))
	require.NoError(t, err)
	require.NoError(t, other.Put([]byte("c"), []byte("from other")))

	loadAll(t, d, 0, 0, []workload.Entry{{Key: "a", Value: "loaded"}, {Key: "n", Value: "phantom"}})
	require.ErrorIs(t, read.Commit(nil), ErrConflict)
	require.ErrorIs(t, scan.Commit(nil), ErrConflict)
	require.NoError(t, other.Commit(nil))
	requireSame(t, kv{"a": "loaded", "n": "phantom", "q": "1", "c": "from other"}, dump(t, d, nil), "after the commits")
}

// Discard leaves the DB as it was and removes the runs; every call after Commit or Discard,
// and NewLoader on a closed or read-only DB, fails with the sentinel a caller tests.
func TestLoaderDiscardAndErrors(t *testing.T) {
	fs := vfs.NewMem()
	d := openMem(t, fs, nil)
	require.NoError(t, d.Put([]byte("x"), []byte("1"), nil))
	l, err := d.NewLoader(&LoaderOptions{BufferSize: 1 << 10})
	require.NoError(t, err)
	for i := range 500 {
		require.NoError(t, l.Put(fmt.Appendf(nil, "k%04d", i), []byte("v")))
	}
	require.NoError(t, l.wait())
	require.NotEmpty(t, l.runs, "a small buffer spills runs")
	l.Discard()
	l.Discard()
	requireNoLoadFiles(t, fs)
	requireSame(t, kv{"x": "1"}, dump(t, d, nil), "after Discard")
	require.ErrorIs(t, l.Put([]byte("k"), nil), ErrInvalidArgument)
	require.ErrorIs(t, l.Commit(), ErrInvalidArgument)

	l, err = d.NewLoader(nil)
	require.NoError(t, err)
	require.NoError(t, l.Commit(), "an empty load")
	require.ErrorIs(t, l.Commit(), ErrInvalidArgument)
	l.Discard()

	l, err = d.NewLoader(nil)
	require.NoError(t, err)
	require.NoError(t, l.Put([]byte("y"), []byte("2")))
	require.NoError(t, d.Close())
	require.ErrorIs(t, l.Commit(), ErrClosed)
	_, err = d.NewLoader(nil)
	require.ErrorIs(t, err, ErrClosed)

	ro := openMem(t, fs, &Options{ReadOnly: true})
	_, err = ro.NewLoader(nil)
	require.ErrorIs(t, err, ErrReadOnly)
	requireSame(t, kv{"x": "1"}, dump(t, ro, nil), "nothing of the load whose DB closed")
	require.NoError(t, ro.Close())
}

// A load into a DB with a non-default comparator sorts by it.
func TestLoaderComparator(t *testing.T) {
	d := openMem(t, vfs.NewMem(), &Options{Comparator: loadReverse{}})
	defer d.Close()
	var es []workload.Entry
	for i := range 2000 {
		es = append(es, workload.Entry{Key: fmt.Sprintf("k%05d", (i*7919)%2000), Value: fmt.Sprint(i)})
	}
	loadAll(t, d, 8<<10, 1, es) // merged in parallel: the cuts in the comparator's order
	it := d.NewIterator(nil)
	var got []string
	for ok := it.First(); ok; ok = it.Next() {
		got = append(got, string(it.Key()))
	}
	require.NoError(t, it.Close())
	require.Len(t, got, 2000)
	require.True(t, slices.IsSortedFunc(got, func(a, b string) int { return strings.Compare(b, a) }), "in the comparator's order")
}

// loadReverse orders keys backwards.
type loadReverse struct{}

func (loadReverse) Compare(a, b []byte) int { return bytes.Compare(b, a) }
func (loadReverse) Name() string            { return "strata.test.Reverse" }
func (loadReverse) Separator(dst, a, _ []byte) []byte {
	return append(dst, a...)
}
func (loadReverse) Successor(dst, a []byte) []byte { return append(dst, a...) }

var _ keys.Comparator = loadReverse{}

// While writers and readers run, a load appears at once: a reader's snapshot holds all of the
// loaded keys or none; the writers' keys are all there afterwards. Run with -race.
func TestLoaderConcurrent(t *testing.T) {
	d := openMem(t, vfs.NewMem(), &Options{WriteBufferSize: 64 << 10, MaxFileSize: 1 << 20})
	defer d.Close()
	const n = 3000
	var es []workload.Entry
	for i := range n {
		es = append(es, workload.Entry{Key: fmt.Sprintf("load%05d", i), Value: "loaded"})
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var writes atomic.Int64
	wg.Add(2)
	go func() { // writes keys of its own, some inside the load's range
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			require.NoError(t, d.Put(fmt.Appendf(nil, "load%05d-w%d", i%n, i), []byte("w"), nil))
			writes.Store(int64(i + 1))
		}
	}()
	go func() { // every snapshot holds the whole load or none of it
		defer wg.Done()
		for !stop.Load() {
			s := d.NewSnapshot()
			ro := &ReadOptions{Snapshot: s}
			_, err0 := d.Get([]byte("load00000"), ro)
			_, errMid := d.Get([]byte("load01500"), ro)
			_, errEnd := d.Get(fmt.Appendf(nil, "load%05d", n-1), ro)
			s.Release()
			require.Equal(t, isNotFound(err0), isNotFound(errMid), "a snapshot with part of the load")
			require.Equal(t, isNotFound(err0), isNotFound(errEnd), "a snapshot with part of the load")
		}
	}()
	loadAll(t, d, 8<<10, 1, es)
	stop.Store(true)
	wg.Wait()
	got := dump(t, d, nil)
	for _, e := range es {
		require.Equal(t, "loaded", got[e.Key], e.Key)
	}
	for i := 0; i < int(writes.Load()); i++ {
		require.Equal(t, "w", got[fmt.Sprintf("load%05d-w%d", i%n, i)])
	}
}

// A power loss at every sync point of a workload with a bulk load in the middle leaves the DB
// with the load whole or absent (its marker, loaded with it, says which), and every write
// acknowledged before it: the crash-point driver of crash_test.go, with the load as one of its
// writes.
func TestLoaderCrashPoints(t *testing.T) {
	seed := testSeed(t)
	g := workload.New(seed, "c", crashShape)
	n := sized(120, 60, 400)
	ops := g.Take(n / 2)
	at := len(ops)
	load := g.PutAt(0) // takes the load's place in the stream
	load.Kind, load.Sync = workload.Batch, true
	load.Entries = nil
	for range 400 {
		load.Entries = append(load.Entries, workload.Entry{Key: g.Key(), Value: g.Value(0)})
	}
	load.Entries = append(load.Entries, workload.Entry{Key: g.Marker(at), Value: "the load"})
	ops = append(ops, load)
	ops = append(ops, g.Take(n/2)...)
	runCrashCase(t, &crashCase{gen: g, ops: ops, opts: &Options{WriteBufferSize: 16 << 10, MaxFileSize: 1 << 20},
		at: crashDirOps, armed: true, recoverEvery: 8, minPoints: 20,
		plan: func(h *crashHarness) {
			h.write(at)
			h.load(2 << 10)
			h.writeAll()
		}})
}

// load applies the next write of the workload, a batch of puts, through a Loader with the
// given buffer size; Commit's return makes it durable.
func (h *crashHarness) load(bufferSize int) {
	h.t.Helper()
	i, op := h.next, h.c.ops[h.next]
	h.st.start(i)
	l, err := h.d.NewLoader(&LoaderOptions{BufferSize: bufferSize})
	require.NoError(h.t, err)
	for _, e := range op.Entries {
		require.False(h.t, e.Delete, "a load only puts")
		require.NoError(h.t, l.Put([]byte(e.Key), []byte(e.Value)))
	}
	require.NoError(h.t, l.Commit())
	h.st.ack(i, true)
	h.next++
}

// A failure of any file operation of a load (a run, a table, the directory, the MANIFEST edit)
// gives an error, and the DB, reopened, holds what it held before; or, when the MANIFEST's sync
// failed after its edit was written, the whole load: never a part.
//
// Each failure is a run of its own: all of the first 30 operations fail in turn, then one in
// every 23 (one in 61 with -short; all with -long).
func TestLoaderFaults(t *testing.T) {
	seed := testSeed(t)
	stride := sized(23, 61, 1)
	tried := 0
	for fail := 1; ; fail++ {
		if fail > 30 && fail%stride != 0 {
			continue
		}
		tried++
		mem := vfs.NewMem()
		var armed atomic.Bool
		var count atomic.Int64
		fs := vfs.WithFaults(mem, vfs.InjectorFunc(func(op vfs.Op, path string) error {
			if armed.Load() && count.Add(1) == int64(fail) {
				return fmt.Errorf("injected failure of %s %s", op, path)
			}
			return nil
		}))
		d := openMem(t, fs, &Options{MaxFileSize: 1 << 20})
		require.NoError(t, d.Put([]byte("n0000001"), []byte("before"), nil))
		g := relGen(seed, "f")
		entries := loadEntries(g, 600)
		want := kv{"n0000001": "before"}
		armed.Store(true)
		l, err := d.NewLoader(&LoaderOptions{BufferSize: 16 << 10})
		require.NoError(t, err)
		if fail%2 == 0 {
			l.parallelMin = 1 // the merge in parallel: any of its goroutines' operations fails
		}
		for _, e := range entries {
			if err = l.Put([]byte(e.Key), []byte(e.Value)); err != nil {
				break
			}
		}
		if err == nil {
			err = l.Commit()
		} else {
			l.Discard()
		}
		armed.Store(false)
		if err == nil && count.Load() < int64(fail) {
			require.NoError(t, d.Close())
			t.Logf("%d file operations in a load, %d of them failing in turn: all of the load or nothing after each failure", fail-1, tried-1)
			return
		}
		if err == nil {
			// The failure hit an operation whose error the load may ignore (removing a run
			// once merged): the load went through.
			want.Apply(workload.Op{Kind: workload.Batch, Entries: entries})
		}
		if errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("unexpected error: %v", err)
		}
		_ = d.Close() // a failed MANIFEST write is a background error, which Close reports
		d = openMem(t, mem, nil)
		got := dump(t, d, nil)
		if _, loaded := got[entries[0].Key]; loaded {
			// A failed sync of the MANIFEST leaves the edit's outcome unknown: the edit reached
			// the file, and this reopen (no power loss) reads it. Then all of the load is there.
			all := maps.Clone(want)
			all.Apply(workload.Op{Kind: workload.Batch, Entries: entries})
			requireSame(t, all, got, "failure %d (%v): the DB reopened, with the load", fail, err)
		} else {
			requireSame(t, want, got, "failure %d (%v): the DB reopened", fail, err)
		}
		require.Less(t, fail, 5000, "a load of this size makes fewer file operations")
		requireNoLoadFiles(t, mem)
		require.NoError(t, d.Close())
	}
}
