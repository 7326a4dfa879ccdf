package db

// The randomized model: a seeded mix of writes (internal/testutil/workload), reads, snapshots,
// iterations, scans, CompactRange calls and reopens on a MemFS with a small write buffer, each
// checked against the model (a map for the latest state, a frozen copy per live snapshot). A
// case is a workload shape, a mix of operations, options and the checks after the run:
//
//   - TestRandomizedModel: every kind of operation, keys of any bytes (the empty key, reused
//     keys, binary keys), values up to several MiB, iterators with random bounds checked step by
//     step (iterutil.CheckAgainstModel), reopens with other table options; several seeds.
//   - TestCompactionModel: a workload long enough to flush hundreds of memtables and run many
//     compactions (and trivial moves, and flushes placed below level 0: runs of ascending keys),
//     with snapshots held across compactions, reopens and CompactRange calls on random ranges;
//     then the tree must have had three levels and many compactions, and, with no snapshots,
//     CompactRange(nil, nil) must leave exactly one entry per live key and no deletion marker, in
//     about as many table bytes as the live data alone takes.
//   - TestCompactionKeepsData: puts and deletes only, through many flushes and compactions;
//     every key is read back before and after a reopen and after CompactRange(nil, nil).
//   - TestCompactionInParts: enough puts and deletes for compactions large enough to be split
//     into subcompactions, with a snapshot held across them.
//
// Replay a failure with the seed it prints (-seed=N or $STRATA_SEED); -long runs more seeds and
// more operations, -short fewer.

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/testutil/filetest"
	"github.com/stratadb/strata/internal/testutil/iterutil"
	"github.com/stratadb/strata/internal/testutil/workload"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/vfs"
)

// modelShape writes keys of every sort (the empty key one time in 33, reused keys, binary keys)
// and values from empty to 100 KiB and, one in 3000, of several MiB (about one per run).
var modelShape = workload.Shape{
	Keys: 800, KeyFormat: "k%04d", EmptyKey: 33, Reuse: 28, BinaryKey: 14,
	Values: []workload.Band{{Weight: 240}, {Weight: 1560, Max: 23}, {Weight: 900, Max: 399}, {Weight: 240, Max: 4<<10 - 1},
		{Weight: 57, Min: 1, Max: 100 << 10}, {Weight: 1, Min: 1 << 20, Max: 4<<20 - 1}},
	RandomFrom: 4<<10 + 1,
	Put:        330, Delete: 100, Batch: 100, Sync: 15,
	BatchMin: 1, BatchMax: 20, BatchDeletes: 3,
	SyncEvery: 10,
}

func TestRandomizedModel(t *testing.T) {
	ops := sized(3000, 3000, 30000)
	forSeeds(t, sized(4, 4, 25), func(t *testing.T, seed uint64) {
		r := runModel(t, seed, &modelCase{shape: modelShape, ops: ops, vary: true, maxSnaps: 6,
			opts: Options{WriteBufferSize: 64 << 10, BlockSize: 1 << 10, MaxFileSize: 1 << 20},
			mix: modelMix{write: 545, compact: 5, get: 259, snapGet: 50, snapshot: 30, release: 20,
				iterate: 70, scan: 10, all: 5, reopen: 6}})
		r.checkAll(nil, r.m, "end")
		sst, _ := r.d.Property("leveldb.sstables")
		r.reopen()
		r.checkAll(nil, r.m, "end, reopened")
		r.close()
		t.Logf("%d operations, %d keys at the end; tables:\n%s", ops, len(r.m), sst)
	})
}

// compactionShape writes a random region of keys (a hot tenth of them most) and now and then
// an ascending region ("s%08d", Gen.Ascending) whose memtables overlap nothing already in the
// tree and so are placed below level 0 by the flush; values are mostly small, some up to 8 KiB.
var compactionShape = workload.Shape{
	Keys: 12000, KeyFormat: "r%06d", Hot: 70, Ascending: 3,
	Values:       []workload.Band{{Weight: 70, Max: 99}, {Weight: 25, Min: 100, Max: 999}, {Weight: 5, Min: 1000, Max: 7999}},
	RandomValues: true,
	Put:          536, Delete: 120, Batch: 150,
	BatchMin: 2, BatchMax: 21, BatchDeletes: 4,
	SyncEvery: 100,
}

func TestCompactionModel(t *testing.T) {
	ops := sized(25000, 8000, 300000)
	if s := os.Getenv("CM_OPS"); s != "" {
		ops, _ = strconv.Atoi(s)
	}
	forSeeds(t, sized(1, 1, 4), func(t *testing.T, seed uint64) {
		opts := Options{WriteBufferSize: 64 << 10, MaxFileSize: 1 << 20, BlockCacheSize: 1 << 20}
		r := runModel(t, seed, &modelCase{shape: compactionShape, ops: ops, maxSnaps: 4, checkEvery: 5000, sampleEvery: 500,
			opts: opts,
			mix:  modelMix{write: 2418, get: 270, snapGet: 270, snapshot: 15, release: 15, compact: 9, reopen: 3, ascending: 1}})
		r.checkViews()
		c, m := countCompactions(r.fs)
		compactions, moves := r.compactions+c, r.moves+m
		sst, _ := r.d.Property("leveldb.sstables")
		stats, _ := r.d.Property("leveldb.stats")
		t.Logf("%d operations, %d live keys, %d compactions and %d trivial moves; files per level %v\n%s%s",
			ops, len(r.m), compactions, moves, levelCounts(t, r.d), stats, sst)
		t.Logf("at most %d levels in use at once; the deepest used: L%d", r.mostLevels, r.deepest)
		require.GreaterOrEqual(t, r.mostLevels, 3, "the tree never had three levels")
		require.GreaterOrEqual(t, r.deepest, 2, "nothing ever below L1")
		require.GreaterOrEqual(t, compactions, ops/2000, "too few compactions")

		// Reopen once more, then compact everything with no snapshot held. Two keys below and
		// above all others make the compaction from level 0 span the whole key space, so that
		// every table at the bottom is merged with something from above: CompactRange does not
		// rewrite bottom-level tables that nothing above overlaps, and those may still hold
		// versions kept for snapshots since released (a known limitation, see
		// TestCompactRangeRewritesBottomLevel).
		r.reopen()
		r.checkViews()
		for _, k := range []string{"0", "~"} {
			require.NoError(t, r.d.Put([]byte(k), []byte(k), nil))
			r.m[k] = k
		}
		require.NoError(t, r.d.CompactRange(nil, nil))
		r.checkViews()
		requireOnlyLiveEntries(t, r.d, r.m)
		got := tableBytes(r.d)

		// The same live data alone, written into a fresh DB and compacted the same way.
		fresh := openMem(t, vfs.NewMem(), &opts)
		var b Batch
		for _, k := range slices.Sorted(maps.Keys(r.m)) {
			b.Put([]byte(k), []byte(r.m[k]))
			if b.Len() >= 100 {
				require.NoError(t, fresh.Write(&b, nil))
				b.Reset()
			}
		}
		require.NoError(t, fresh.Write(&b, nil))
		require.NoError(t, fresh.CompactRange(nil, nil))
		want := tableBytes(fresh)
		require.NoError(t, fresh.Close())
		t.Logf("after CompactRange(nil, nil): %d table bytes; the live data alone: %d", got, want)
		require.InDelta(t, float64(want), float64(got), 0.10*float64(want),
			"CompactRange(nil, nil) left %d table bytes, the live data alone takes %d", got, want)
		r.close()
	})
}

func TestCompactionKeepsData(t *testing.T) {
	const n = 60000
	shape := workload.Shape{Keys: n / 2, KeyFormat: "key%07d", Values: []workload.Band{{Weight: 1, Max: 120}}, Put: 9, Delete: 1}
	forSeeds(t, 1, func(t *testing.T, seed uint64) {
		r := runModel(t, seed, &modelCase{shape: shape, ops: n, mix: modelMix{write: 1},
			opts: Options{WriteBufferSize: 64 << 10, MaxFileSize: 1 << 20}})
		var all []string
		for i := range n / 2 {
			all = append(all, r.g.KeyAt(i))
		}
		check := func(what string) {
			r.checkScan(modelSnap{m: r.m})
			requireGets(t, r.d, nil, r.m, all, what)
		}
		check("written")
		stats, _ := r.d.Property("leveldb.stats")
		t.Log(stats)
		r.reopen()
		check("reopened")
		require.NoError(t, r.d.CompactRange(nil, nil))
		check("compacted")
		sst, _ := r.d.Property("leveldb.sstables")
		t.Log("after CompactRange:\n" + sst)
		r.close()
	})
}

// TestCompactionInParts checks, with -tags invariants, every Version the parts install too
// (levels sorted and disjoint).
func TestCompactionInParts(t *testing.T) {
	const n = 200000
	shape := workload.Shape{Keys: n / 2, KeyFormat: "key%06d", Values: []workload.Band{{Weight: 1, Min: 100, Max: 300}}, Put: 9, Delete: 1}
	forSeeds(t, 1, func(t *testing.T, seed uint64) {
		r := runModel(t, seed, &modelCase{shape: shape, ops: n, mix: modelMix{write: 1}, maxSnaps: 1,
			opts: Options{WriteBufferSize: 256 << 10, MaxFileSize: 1 << 20, BlockCacheSize: 1 << 20},
			hook: func(r *modelRun) {
				if r.step == n/3 {
					r.snapshot()
				}
			}})
		r.checkViews()
		r.d.mu.Lock()
		split := r.d.mu.stats.split
		r.d.mu.Unlock()
		require.Positive(t, split, "no compaction was split into parts")
		r.reopen()
		r.checkViews()
		r.close()
		t.Logf("%d compactions ran in parts", split)
	})
}

// modelCase is one configuration of the randomized model; see the file comment.
type modelCase struct {
	shape       workload.Shape
	mix         modelMix
	opts        Options
	ops         int
	vary        bool // start with, and reopen with, other table options now and then, checked after
	maxSnaps    int  // the most snapshots held at once
	checkEvery  int  // scan the latest state and every snapshot every checkEvery operations
	sampleEvery int  // sample the levels in use every sampleEvery operations
	hook        func(r *modelRun)
}

// modelMix weighs the operations: a write of the workload; a Get of the latest state or of a
// snapshot; taking and releasing a snapshot; an iterator with random bounds checked step by
// step; full scans both ways; a walk with All; a CompactRange of a random range; a reopen; a
// run of ascending keys, two memtables' worth.
type modelMix struct {
	write, get, snapGet, snapshot, release, iterate, scan, all, compact, reopen, ascending int
}

// modelSnap is a live snapshot and the contents it must show.
type modelSnap struct {
	s  *Snapshot
	m  kv
	at int // the operation it was taken at
}

// modelRun is one run of a modelCase.
type modelRun struct {
	t       *testing.T
	c       *modelCase
	g       *workload.Gen
	rng     *rand.Rand
	fs      *vfs.MemFS
	opts    Options
	d       *DB
	m       kv
	snaps   []modelSnap
	history []modelLogged // the last operations, printed on failure
	step    int

	compactions, moves  int // compactions and trivial moves counted in the LOG of earlier opens
	mostLevels, deepest int // the most levels in use at once, and the deepest used
}

// runModel runs c's operations from seed and returns the run, its DB open.
func runModel(t *testing.T, seed uint64, c *modelCase) *modelRun {
	g := workload.New(seed, "m", c.shape)
	r := &modelRun{t: t, c: c, g: g, rng: g.Rand(), fs: vfs.NewMem(), opts: c.opts, m: kv{}}
	t.Cleanup(func() {
		if t.Failed() {
			var lines []string
			for _, h := range r.history {
				lines = append(lines, fmt.Sprintf("%d: ", h.step)+fmt.Sprintf(h.format, h.args...))
			}
			t.Logf("the last operations:\n  %s", strings.Join(lines, "\n  "))
		}
	})
	if c.vary {
		r.opts.BlockRestartInterval = 1 + r.rng.IntN(16)
		r.opts.MaxOpenFiles = []int{0, 20}[r.rng.IntN(2)] // 20: only 10 tables stay open
	}
	r.d = openMem(t, r.fs, &r.opts)
	mix := c.mix
	weights := []int{mix.write, mix.get, mix.snapGet, mix.snapshot, mix.release, mix.iterate, mix.scan, mix.all,
		mix.compact, mix.reopen, mix.ascending}
	total := 0
	for _, w := range weights {
		total += w
	}
	for r.step = 1; r.step <= c.ops; r.step++ {
		x := r.rng.IntN(total)
		op := 0
		for ; x >= weights[op]; op++ {
			x -= weights[op]
		}
		r.do(op)
		if c.hook != nil {
			c.hook(r)
		}
		if c.checkEvery > 0 && r.step%c.checkEvery == 0 {
			r.checkViews()
		}
		if c.sampleEvery > 0 && r.step%c.sampleEvery == 0 {
			used := 0
			for level, n := range levelCounts(t, r.d) {
				if n > 0 {
					used++
					r.deepest = max(r.deepest, level)
				}
			}
			r.mostLevels = max(r.mostLevels, used)
		}
	}
	return r
}

// modelLogged is an operation of the run, formatted only if the run fails.
type modelLogged struct {
	step   int
	format string
	args   []any
}

func (r *modelRun) logOp(format string, args ...any) {
	const keep = 40
	if len(r.history) == keep {
		r.history = r.history[1:]
	}
	r.history = append(r.history, modelLogged{r.step, format, args})
}

// do runs operation op, in modelMix's order.
func (r *modelRun) do(op int) {
	t, rng, d := r.t, r.rng, r.d
	switch op {
	case 0:
		w := r.g.Next()
		r.logOp("%v, first key %q", w, firstKey(w))
		require.NoError(t, applyOp(d, w), "%v", w)
		r.m.Apply(w)
	case 1:
		r.get(nil, r.m)
	case 2:
		if len(r.snaps) > 0 {
			s := r.snaps[rng.IntN(len(r.snaps))]
			r.get(s.s, s.m)
		}
	case 3:
		if len(r.snaps) < r.c.maxSnaps {
			r.snapshot()
		}
	case 4:
		if len(r.snaps) > 0 {
			// Check the snapshot one last time (it has lived through the compactions since),
			// now and then with a full scan.
			i := rng.IntN(len(r.snaps))
			if rng.IntN(3) == 0 {
				r.checkScan(r.snaps[i])
			}
			r.logOp("Release snapshot %d", i)
			r.snaps[i].s.Release()
			r.snaps = slices.Delete(r.snaps, i, i+1)
		}
	case 5:
		s, m := r.view()
		r.iterate(s, m)
	case 6:
		s, m := r.view()
		r.checkAll(s, m, "scan")
	case 7:
		s, m := r.view()
		r.logOp("All()")
		it := d.NewIterator(&ReadOptions{Snapshot: s})
		got := kv{}
		for k, v := range it.All() {
			got[string(k)] = string(v)
		}
		require.NoError(t, it.Close())
		requireSame(t, m, got, "All")
	case 8:
		start, limit := []byte(r.g.Key()), []byte(r.g.Key())
		if bytes.Compare(start, limit) > 0 {
			start, limit = limit, start
		}
		switch rng.IntN(5) { // nil bounds are unbounded
		case 0:
			start = nil
		case 1:
			limit = nil
		}
		r.logOp("CompactRange(%q, %q)", start, limit)
		require.NoError(t, d.CompactRange(start, limit))
	case 9:
		r.reopen()
		if r.c.vary && rng.IntN(2) == 0 {
			r.checkAll(nil, r.m, "after reopen")
		}
	case 10:
		// A run of ascending keys, two memtables' worth (of 200-byte entries): a memtable full of
		// nothing else overlaps nothing in the tree and is flushed straight to level 1 or 2.
		run := r.g.Ascending(2*r.opts.WriteBufferSize/200, 190)
		r.logOp("%d ascending puts from %s", len(run), run[0].Entries[0].Key)
		for _, w := range run {
			require.NoError(t, applyOp(d, w))
		}
		r.m.Apply(run...)
	}
}

func firstKey(w workload.Op) string {
	if len(w.Entries) == 0 {
		return ""
	}
	return w.Entries[0].Key
}

// snapshot takes a snapshot and freezes a copy of the model with it.
func (r *modelRun) snapshot() {
	r.logOp("NewSnapshot")
	r.snaps = append(r.snaps, modelSnap{s: r.d.NewSnapshot(), m: maps.Clone(r.m), at: r.step})
}

// view picks the latest state or a live snapshot.
func (r *modelRun) view() (*Snapshot, kv) {
	if len(r.snaps) > 0 && r.rng.IntN(3) == 0 {
		s := r.snaps[r.rng.IntN(len(r.snaps))]
		return s.s, s.m
	}
	return nil, r.m
}

func (r *modelRun) get(s *Snapshot, m kv) {
	k := r.g.Key()
	r.logOp("Get(%q) at snapshot=%v", k, s != nil)
	var ro *ReadOptions
	if s != nil || r.rng.IntN(2) == 0 {
		ro = &ReadOptions{Snapshot: s, VerifyChecksums: r.rng.IntN(4) == 0}
	}
	requireGets(r.t, r.d, ro, m, []string{k}, fmt.Sprintf("op %d", r.step))
}

// bound returns nil (unbounded) or a key.
func (r *modelRun) bound() []byte {
	if r.rng.IntN(2) == 0 {
		return nil
	}
	return []byte(r.g.Key())
}

func (r *modelRun) iterate(s *Snapshot, m kv) {
	lower, upper := r.bound(), r.bound()
	r.logOp("iterate snapshot=%v lower=%q upper=%q", s != nil, lower, upper)
	ro := &ReadOptions{Snapshot: s, LowerBound: lower, UpperBound: upper, DontFillCache: r.rng.IntN(3) == 0}
	it := r.d.NewIterator(ro)
	model := &iterutil.Model{Cmp: bytes.Compare, Entries: m.Entries(lower, upper), Format: func(k []byte) string { return short(string(k)) }}
	iterutil.CheckAgainstModel(r.t, dbIter{it}, model, r.rng, 60)
	require.NoError(r.t, it.Close())
}

// checkAll compares a full forward scan, and a full reverse scan, through s with m.
func (r *modelRun) checkAll(s *Snapshot, m kv, what string) {
	t := r.t
	r.logOp("full scan (%s) snapshot=%v", what, s != nil)
	requireSame(t, m, dump(t, r.d, &ReadOptions{Snapshot: s}), "op %d: %s", r.step, what)
	it := r.d.NewIterator(&ReadOptions{Snapshot: s})
	want := m.Entries(nil, nil)
	i := len(want) - 1
	for ok := it.Last(); ok; ok = it.Prev() {
		if i < 0 {
			require.Failf(t, "reverse scan", "%s: more keys than the model, %s among them", what, short(string(it.Key())))
		}
		if !bytes.Equal(want[i].Key, it.Key()) || !bytes.Equal(want[i].Value, it.Value()) {
			require.Failf(t, "reverse scan", "%s: entry %d is %s=%s, want %s=%s", what, i, short(string(it.Key())),
				short(string(it.Value())), short(string(want[i].Key)), short(string(want[i].Value)))
		}
		i--
	}
	require.Equal(t, -1, i, "%s: reverse scan stopped early", what)
	require.NoError(t, it.Close())
}

// checkScan compares a full forward scan through s with its model.
func (r *modelRun) checkScan(s modelSnap) {
	what := "latest state"
	if s.s != nil {
		what = fmt.Sprintf("snapshot taken at op %d", s.at)
	}
	r.logOp("forward scan (%s)", what)
	requireSame(r.t, s.m, dump(r.t, r.d, &ReadOptions{Snapshot: s.s}), "op %d: %s", r.step, what)
}

// checkViews scans the latest state and every snapshot forward.
func (r *modelRun) checkViews() {
	r.checkScan(modelSnap{m: r.m})
	for _, s := range r.snaps {
		r.checkScan(s)
	}
}

// close releases the snapshots (they do not survive a close), counts the compactions the LOG
// recorded, and closes the DB.
func (r *modelRun) close() {
	for _, s := range r.snaps {
		s.s.Release()
	}
	r.snaps = nil
	c, m := countCompactions(r.fs)
	r.compactions += c
	r.moves += m
	require.NoError(r.t, r.d.Close())
}

// reopen closes the DB and opens it again, with vary sometimes with other table options (the
// comparator never changes).
func (r *modelRun) reopen() {
	r.logOp("reopen")
	r.close()
	if r.c.vary && r.rng.IntN(2) == 0 {
		o := &r.opts
		o.ParanoidChecks = r.rng.IntN(2) == 0
		o.BloomBitsPerKey = []int{-1, 0, 4, 10}[r.rng.IntN(4)]
		o.Compression = []Compression{DefaultCompression, NoCompression, SnappyCompression}[r.rng.IntN(3)]
		o.BlockSize = []int{1 << 10, 4 << 10, 32 << 10}[r.rng.IntN(3)]
		o.MaxOpenFiles = []int{0, 20}[r.rng.IntN(2)]
	}
	r.d = openMem(r.t, r.fs, &r.opts)
}

// countCompactions counts the compactions and the trivial moves recorded in the LOG of the DB
// open on fs.
func countCompactions(fs vfs.FS) (compactions, moves int) {
	log, _ := filetest.ReadErr(fs, "/db/LOG")
	return strings.Count(string(log), "compacted to level"), strings.Count(string(log), "moved #")
}

// currentVersion returns d's current Version, referenced; Unref it when done.
func currentVersion(d *DB) *compaction.Version {
	d.mu.Lock()
	defer d.mu.Unlock()
	v := d.mu.vs.Current()
	v.Ref()
	return v
}

// tableBytes returns the total size of the tables of d's current Version.
func tableBytes(d *DB) uint64 {
	v := currentVersion(d)
	defer v.Unref()
	var n uint64
	for level := range v.Levels {
		n += v.LevelBytes(level)
	}
	return n
}

// requireOnlyLiveEntries reads every entry of every table of d and requires exactly one per key
// of model, with its value, and no deletion marker: what CompactRange(nil, nil) leaves when no
// snapshot holds older versions (and nothing is in the memtable).
func requireOnlyLiveEntries(t testing.TB, d *DB, model kv) {
	t.Helper()
	v := currentVersion(d)
	defer v.Unref()
	seen := make(map[string]bool, len(model))
	for level, files := range v.Levels {
		for _, f := range files {
			it, err := d.newTableIter(f.Num, sstable.ReadOptions{VerifyChecksums: true})
			require.NoError(t, err)
			for ok := it.First(); ok; ok = it.Next() {
				pk, valid := keys.Parse(it.Key())
				require.True(t, valid, "L%d %s: bad key %q", level, f, it.Key())
				k := string(pk.UserKey)
				require.NotEqual(t, keys.KindDelete, pk.Kind, "L%d %s: deletion marker %s left after CompactRange(nil, nil)", level, f, pk)
				require.False(t, seen[k], "L%d %s: second entry %s after CompactRange(nil, nil)", level, f, pk)
				seen[k] = true
				want, ok := model[k]
				require.True(t, ok, "L%d %s: entry %s of a deleted key", level, f, pk)
				require.Equal(t, want, string(it.Value()), "L%d %s: %s", level, f, pk)
			}
			require.NoError(t, it.Error())
			require.NoError(t, it.Close())
		}
	}
	require.Equal(t, len(model), len(seen), "tables hold %d keys, the model %d", len(seen), len(model))
}
