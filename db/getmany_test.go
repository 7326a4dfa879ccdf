package db

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/testutil/filetest"
	"github.com/stratadb/strata/internal/testutil/testcmp"
	"github.com/stratadb/strata/internal/testutil/workload"
	"github.com/stratadb/strata/vfs"
)

// The batched lookups (GetMany, HasMany) are checked against the model of the view they read
// and against Get of each key, on DBs with data in every place (the memtable, an immutable
// memtable, overlapping level-0 tables, deeper levels, deletions and overwrites, snapshots),
// inside the randomized model runs, under a comparator that is not bytewise, while other
// goroutines write and compact, and on closed DBs, released snapshots and damaged tables.

// checkMany runs GetMany and HasMany over batch through ro and compares every answer with want
// (the contents of the view ro reads) and with Get; it checks that fn sees each index once, in
// ascending key order (equal keys by index).
func checkMany(t testing.TB, d *DB, ro *ReadOptions, want kv, batch [][]byte, what string) {
	t.Helper()
	cmp := d.opts.Comparator.Compare
	seen := make([]bool, len(batch))
	prev := -1
	err := d.GetMany(batch, ro, func(i int, value []byte, found bool) error {
		require.False(t, seen[i], "%s: index %d twice", what, i)
		seen[i] = true
		if prev >= 0 {
			c := cmp(batch[prev], batch[i])
			require.True(t, c < 0 || (c == 0 && prev < i), "%s: %s (index %d) after %s (index %d)", what,
				short(string(batch[i])), i, short(string(batch[prev])), prev)
		}
		prev = i
		k := string(batch[i])
		w, ok := want[k]
		require.Equal(t, ok, found, "%s: GetMany found %s", what, short(k))
		require.Equal(t, found, value != nil, "%s: GetMany value of %s is nil exactly when not found", what, short(k))
		if ok {
			require.True(t, w == string(value), "%s: GetMany(%s) = %s, want %s", what, short(k), short(string(value)), short(w))
		}
		g, err := d.Get(batch[i], ro)
		if ok {
			require.NoError(t, err, "%s: Get(%s)", what, short(k))
			require.True(t, bytes.Equal(g, value), "%s: Get and GetMany differ on %s", what, short(k))
		} else {
			require.ErrorIs(t, err, ErrNotFound, "%s: Get(%s)", what, short(k))
		}
		return nil
	})
	require.NoError(t, err, what)
	for i, s := range seen {
		require.True(t, s, "%s: index %d (%s) never passed to fn", what, i, short(string(batch[i])))
	}
	// HasMany as it is, and split across goroutines from a few keys each (cut anywhere, a
	// run of duplicates too) and sorted outside the heap, as a batch of a million keys is.
	for _, tune := range []manyTuning{{manyParallelMin, manyOffHeapMin}, {3, 1}} {
		found := make([]bool, len(batch))
		require.NoError(t, d.hasMany(batch, ro, found, tune), what)
		for i, k := range batch {
			_, ok := want[string(k)]
			require.Equal(t, ok, found[i], "%s: HasMany(%s) tuned %+v", what, short(string(k)), tune)
		}
	}
}

// manyBatch draws a batch of about n keys from g's key space (present and absent), with
// duplicates, keys of want, the empty key now and then, and keys past the key space; the
// order is random.
func manyBatch(rng *rand.Rand, g *workload.Gen, want kv, n int) [][]byte {
	present := slices.Collect(maps.Keys(want))
	slices.Sort(present) // map order is random: sort, so a seed replays
	batch := make([][]byte, 0, n)
	for len(batch) < n {
		switch r := rng.IntN(20); {
		case r < 8 && len(present) > 0:
			batch = append(batch, []byte(present[rng.IntN(len(present))]))
		case r < 10 && len(batch) > 0:
			batch = append(batch, batch[rng.IntN(len(batch))]) // the same slice again
		case r < 11 && len(batch) > 0:
			batch = append(batch, bytes.Clone(batch[rng.IntN(len(batch))])) // an equal key
		case r < 12:
			batch = append(batch, []byte{})
		case r < 13:
			batch = append(batch, workload.RandomBytes(rng, rng.IntN(12)))
		default:
			batch = append(batch, []byte(g.Key()))
		}
	}
	return batch
}

// batchSizes are the batch sizes the tests draw: none, one, a few, and more than the radix
// sort's threshold.
var batchSizes = []int{0, 1, 2, 17, radixMin - 1, 3 * radixMin, 2000}

// TestGetManyEveryPlace fills DBs with data in every place (tables below level 0, overlapping
// level-0 tables, an immutable memtable whose flush is held up, the memtable; deletions and
// overwrites across them) under the bytewise and a reverse comparator, and checks batches of
// every size at the latest state and at two snapshots.
func TestGetManyEveryPlace(t *testing.T) {
	for _, cmp := range []Comparator{BytewiseComparator, testcmp.Reverse{}} {
		t.Run("cmp="+cmp.Name(), func(t *testing.T) {
			forSeeds(t, 2, func(t *testing.T, seed uint64) {
				sw := &switchInjector{}
				opts := relOpts()
				opts.Comparator = cmp
				d := openMem(t, vfs.WithFaults(vfs.NewMem(), sw), opts)
				defer d.Close()
				want, g := fillLevels(t, d, seed)
				rng := g.Rand()
				snap1, at1 := d.NewSnapshot(), maps.Clone(want)
				defer snap1.Release()
				// Overlapping level-0 tables: flushes of writes across the key space, until two or
				// three are left (the fourth triggers a compaction into level 1), at least one.
				for i := range 20 {
					if i > 0 && numFiles(t, d, 0) >= 2 {
						break
					}
					ops := g.Take(10)
					for _, op := range ops {
						require.NoError(t, applyOp(d, op))
					}
					want.Apply(ops...)
					require.NoError(t, d.flushMemTable())
					waitIdle(d)
				}
				waitIdle(d)
				snap2, at2 := d.NewSnapshot(), maps.Clone(want)
				defer snap2.Release()

				// Hold up the next flush, and write until the memtable is retired.
				gate := make(chan struct{})
				sw.set(func(op vfs.Op, path string) error {
					if op == vfs.OpCreate && strings.HasSuffix(path, ".ldb") {
						<-gate
					}
					return nil
				})
				defer func() {
					sw.set(nil)
					select {
					case <-gate:
					default:
						close(gate)
					}
				}()
				for !hasImm(d) {
					op := g.Next()
					require.NoError(t, applyOp(d, op))
					want.Apply(op)
				}
				for _, op := range g.Take(30) {
					require.NoError(t, applyOp(d, op))
					want.Apply(op)
				}
				require.True(t, hasImm(d))
				t.Logf("files per level %v", levelCounts(t, d))
				require.GreaterOrEqual(t, numFiles(t, d, 0), 2)

				for _, n := range batchSizes {
					for _, view := range []struct {
						name string
						ro   *ReadOptions
						m    kv
					}{{"latest", nil, want}, {"snapshot1", &ReadOptions{Snapshot: snap1}, at1},
						{"snapshot2", &ReadOptions{Snapshot: snap2, VerifyChecksums: true}, at2},
						{"latest-nocache", &ReadOptions{DontFillCache: true}, want}} {
						checkMany(t, d, view.ro, view.m, manyBatch(rng, g, view.m, n), fmt.Sprintf("%s, %d keys", view.name, n))
					}
				}
				// Every key the model holds, and every key of the key space.
				all := make([][]byte, 0, 2*relKeys)
				for k := range want {
					all = append(all, []byte(k))
				}
				for i := range 2 * 800 {
					all = append(all, []byte(g.KeyAt(i)))
				}
				checkMany(t, d, nil, want, all, "all keys")
			})
		})
	}
}

func hasImm(d *DB) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.mu.imm != nil
}

// TestGetManyModel checks batches against the randomized model while it runs: every kind of
// key (the empty key, binary keys), values up to several MiB, reopens with other table
// options; and a run long enough for three levels of tables.
func TestGetManyModel(t *testing.T) {
	check := func(every, n int) func(r *modelRun) {
		return func(r *modelRun) {
			if r.step%every != 0 {
				return
			}
			s, m := r.view()
			var ro *ReadOptions
			if s != nil || r.rng.IntN(2) == 0 {
				ro = &ReadOptions{Snapshot: s, VerifyChecksums: r.rng.IntN(4) == 0, DontFillCache: r.rng.IntN(4) == 0}
			}
			r.logOp("GetMany at snapshot=%v", s != nil)
			checkMany(r.t, r.d, ro, m, manyBatch(r.rng, r.g, m, 1+r.rng.IntN(n)), fmt.Sprintf("op %d", r.step))
		}
	}
	t.Run("keys=any", func(t *testing.T) {
		ops := sized(2000, 1000, 20000)
		forSeeds(t, sized(2, 1, 10), func(t *testing.T, seed uint64) {
			r := runModel(t, seed, &modelCase{shape: modelShape, ops: ops, vary: true, maxSnaps: 4,
				opts: Options{WriteBufferSize: 64 << 10, BlockSize: 1 << 10, MaxFileSize: 1 << 20},
				mix:  modelMix{write: 600, compact: 5, get: 50, snapshot: 30, release: 20, reopen: 6},
				hook: check(25, 600)})
			r.close()
		})
	})
	t.Run("levels=3", func(t *testing.T) {
		ops := sized(12000, 6000, 100000)
		forSeeds(t, 1, func(t *testing.T, seed uint64) {
			r := runModel(t, seed, &modelCase{shape: compactionShape, ops: ops, maxSnaps: 4, sampleEvery: 500,
				opts: Options{WriteBufferSize: 64 << 10, MaxFileSize: 1 << 20, BlockCacheSize: 1 << 20},
				mix:  modelMix{write: 2418, snapshot: 15, release: 15, compact: 9, reopen: 3, ascending: 1},
				hook: check(400, 3000)})
			t.Logf("at most %d levels in use at once", r.mostLevels)
			all := make([][]byte, 0, len(r.m))
			for k := range r.m {
				all = append(all, []byte(k))
			}
			checkMany(t, r.d, nil, r.m, all, "every live key")
			r.close()
		})
	})
}

// TestGetManyEdges: an empty batch calls nothing; the empty key and a nil key are the same
// key; duplicates get one call each; keys only in the memtable; fn's error stops the lookup.
func TestGetManyEdges(t *testing.T) {
	d := openMem(t, vfs.NewMem(), nil)
	defer d.Close()
	require.NoError(t, d.Put(nil, []byte("empty"), nil))
	require.NoError(t, d.Put([]byte("a"), nil, nil))
	require.NoError(t, d.Put([]byte("b"), []byte("B"), nil))

	require.NoError(t, d.GetMany(nil, nil, func(int, []byte, bool) error { panic("called") }))
	require.NoError(t, d.HasMany(nil, nil, nil))

	type call struct {
		i     int
		value string
		found bool
	}
	var calls []call
	batch := [][]byte{[]byte("b"), nil, []byte("zz"), {}, []byte("a"), []byte("b")}
	orig := slices.Clone(batch)
	require.NoError(t, d.GetMany(batch, nil, func(i int, value []byte, found bool) error {
		calls = append(calls, call{i, string(value), found})
		return nil
	}))
	require.Equal(t, orig, batch, "the batch is not modified")
	require.Equal(t, []call{{1, "empty", true}, {3, "empty", true}, {4, "", true}, {0, "B", true}, {5, "B", true},
		{2, "", false}}, calls)

	found := make([]bool, len(batch))
	require.NoError(t, d.HasMany(batch, nil, found))
	require.Equal(t, []bool{true, true, false, true, true, true}, found)
	require.ErrorIs(t, d.HasMany(batch, nil, found[:2]), ErrInvalidArgument)

	stop := errors.New("stop")
	n := 0
	err := d.GetMany(batch, nil, func(int, []byte, bool) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	require.Equal(t, 2, n)
}

// TestGetManyErrors: a closed DB, a released snapshot and another DB's snapshot give Get's
// errors.
func TestGetManyErrors(t *testing.T) {
	fs := vfs.NewMem()
	d := openMem(t, fs, nil)
	other := openMem(t, vfs.NewMem(), nil)
	defer other.Close()
	require.NoError(t, d.Put([]byte("k"), []byte("v"), nil))
	batch := [][]byte{[]byte("k")}
	none := func(int, []byte, bool) error { panic("called") }
	for _, c := range []struct {
		name string
		ro   *ReadOptions
	}{
		{"released", func() *ReadOptions { s := d.NewSnapshot(); s.Release(); return &ReadOptions{Snapshot: s} }()},
		{"foreign", &ReadOptions{Snapshot: other.NewSnapshot()}},
	} {
		_, getErr := d.Get(batch[0], c.ro)
		require.ErrorIs(t, getErr, ErrInvalidArgument, c.name)
		err := d.GetMany(batch, c.ro, none)
		require.Equal(t, getErr.Error(), err.Error(), c.name)
		require.ErrorIs(t, err, ErrInvalidArgument, c.name)
		require.ErrorIs(t, d.HasMany(batch, c.ro, make([]bool, 1)), ErrInvalidArgument, c.name)
	}
	require.NoError(t, d.Close())
	require.ErrorIs(t, d.GetMany(batch, nil, none), ErrClosed)
	require.ErrorIs(t, d.HasMany(batch, nil, make([]bool, 1)), ErrClosed)
}

// TestGetManyCorruptTable: a damaged data block gives the error Get gives (ErrCorruption,
// naming the table), and no panic, for batches that reach it; keys in other tables are still
// read right.
func TestGetManyCorruptTable(t *testing.T) {
	fs := vfs.NewMem()
	opts := &Options{BlockSize: 1 << 10, Compression: NoCompression, BloomBitsPerKey: -1}
	d := openMem(t, fs, opts)
	want := kv{}
	for i := range 2000 {
		k, v := fmt.Sprintf("k%05d", i), fmt.Sprintf("value-%05d-%s", i, strings.Repeat("x", 40))
		require.NoError(t, d.Put([]byte(k), []byte(v), nil))
		want[k] = v
	}
	require.NoError(t, d.CompactRange(nil, nil))
	require.NoError(t, d.Close())

	// Damage a value in the middle of the first table.
	tables := namesOfKind(t, fs, "/db", filenames.Table)
	slices.Sort(tables)
	path := filepath.Join("/db", tables[0])
	data := filetest.Read(t, fs, path)
	at := bytes.Index(data[len(data)/2:], []byte("value-")) + len(data)/2
	data[at+8] ^= 0x55
	filetest.Write(t, fs, path, data)

	d = openMem(t, fs, opts)
	defer d.Close()
	var bad []byte
	for k := range want {
		if _, err := d.Get([]byte(k), nil); err != nil {
			require.ErrorIs(t, err, ErrCorruption)
			bad = []byte(k)
			break
		}
	}
	require.NotNil(t, bad, "a key reads the damaged block")
	_, getErr := d.Get(bad, nil)
	var ce *dberr.CorruptionError
	require.ErrorAs(t, getErr, &ce)
	require.Contains(t, ce.File, tables[0])

	all := make([][]byte, 0, len(want))
	for k := range want {
		all = append(all, []byte(k))
	}
	for _, batch := range [][][]byte{{bad}, all} {
		err := d.GetMany(batch, nil, func(i int, value []byte, found bool) error {
			require.True(t, found)
			require.Equal(t, want[string(batch[i])], string(value))
			return nil
		})
		require.ErrorIs(t, err, ErrCorruption)
		require.Equal(t, getErr.Error(), err.Error())
		require.ErrorIs(t, d.HasMany(batch, nil, make([]bool, len(batch))), ErrCorruption)
	}
	// Keys of the last table are read right.
	last := []byte(fmt.Sprintf("k%05d", 1999))
	checkMany(t, d, nil, want, [][]byte{last}, "a key in another table")
}

// TestGetManyConcurrent runs batched lookups while other goroutines write, flush and compact.
// Each writer owns a range of keys and writes versions of them in order; a batch read at a
// snapshot must agree with Get at the same snapshot, and a key's version never goes backwards
// from one batch to the next. Run it with -race.
func TestGetManyConcurrent(t *testing.T) {
	d := openMem(t, vfs.NewMem(), &Options{WriteBufferSize: 64 << 10, MaxFileSize: 1 << 20, BlockSize: 1 << 10})
	defer d.Close()
	const writers, perWriter = 2, 500
	rounds := sized(300, 100, 3000)
	if raceEnabled {
		rounds /= 3
	}
	key := func(w, i int) []byte { return []byte(fmt.Sprintf("w%d/%04d", w, i)) }
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for v := 0; !stop.Load(); v++ {
				i := rng.IntN(perWriter)
				var err error
				if rng.IntN(10) == 0 {
					err = d.Delete(key(w, i), nil)
				} else {
					err = d.Put(key(w, i), []byte(fmt.Sprintf("%09d%s", v, strings.Repeat("v", rng.IntN(200)))), nil)
				}
				if err != nil {
					t.Error(err)
					return
				}
				if v%3000 == 2999 {
					if err := d.CompactRange(key(w, rng.IntN(perWriter)), key(w, perWriter-1)); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	defer func() {
		stop.Store(true)
		wg.Wait()
	}()
	rng := rand.New(rand.NewPCG(testSeed(t), 2))
	last := map[string]string{} // the newest version each key was seen with
	for round := 0; round < rounds && !t.Failed(); round++ {
		batch := make([][]byte, 1+rng.IntN(400))
		for j := range batch {
			batch[j] = key(rng.IntN(writers), rng.IntN(perWriter))
		}
		snap := d.NewSnapshot()
		ro := &ReadOptions{Snapshot: snap}
		err := d.GetMany(batch, ro, func(i int, value []byte, found bool) error {
			g, err := d.Get(batch[i], ro)
			if found {
				require.NoError(t, err)
				require.Equal(t, string(g), string(value))
				ver := string(value[:9])
				require.GreaterOrEqual(t, ver, last[string(batch[i])][:min(9, len(last[string(batch[i])]))])
				last[string(batch[i])] = ver
			} else {
				require.ErrorIs(t, err, ErrNotFound)
			}
			return nil
		})
		require.NoError(t, err)
		found := make([]bool, len(batch))
		require.NoError(t, d.HasMany(batch, nil, found)) // the latest state: no check but no error
		// In parallel parts, at the snapshot: the same answers as GetMany's, checked above.
		require.NoError(t, d.hasMany(batch, ro, found, manyTuning{perWay: 8, offHeapMin: 1}))
		for i, k := range batch {
			_, err := d.Get(k, ro)
			require.Equal(t, err == nil, found[i], "parallel HasMany(%q)", k)
		}
		snap.Release()
	}
	t.Logf("%d rounds; files per level %v", rounds, levelCounts(t, d))
}

// TestGetManySplitUserKey keeps hundreds of versions of one key alive with snapshots, so that
// compaction splits that user key across tables of one level, and checks that a batch through
// each snapshot reads that snapshot's version: as for Get, the table of a level is found with
// the whole internal key, not the user key alone.
func TestGetManySplitUserKey(t *testing.T) {
	d := openMem(t, vfs.NewMem(), &Options{WriteBufferSize: 64 << 10, MaxFileSize: 1 << 20})
	defer d.Close()
	rng := rand.New(rand.NewPCG(5, 6))
	const versions = 200 // x 8 KiB, each kept by a snapshot: over 1.5 MiB of one key
	type held struct {
		s *Snapshot
		m kv
	}
	var snaps []held
	m := kv{}
	for i := 0; i < versions; i++ {
		v := fmt.Sprintf("hot@%d:%s", i, randValue(rng, 8<<10))
		a, z := fmt.Sprintf("a%04d", i), fmt.Sprintf("z%04d", i)
		require.NoError(t, d.Put([]byte("hot"), []byte(v), nil))
		require.NoError(t, d.Put([]byte(a), []byte("x"), nil))
		require.NoError(t, d.Put([]byte(z), []byte("y"), nil))
		m["hot"], m[a], m[z] = v, "x", "y"
		snaps = append(snaps, held{d.NewSnapshot(), maps.Clone(m)})
	}
	require.NoError(t, d.CompactRange(nil, nil))
	v := currentVersion(d)
	split := 0
	for _, files := range v.Levels[1:] {
		for i := 1; i < len(files); i++ {
			if string(files[i-1].LargestUser()) == "hot" && string(files[i].SmallestUser()) == "hot" {
				split++
			}
		}
	}
	v.Unref()
	require.Positive(t, split, "no table boundary inside the versions of \"hot\"")
	batch := [][]byte{[]byte("a0000"), []byte("hot"), []byte("a0150"), []byte("hot"), []byte("z0199"), []byte("b")}
	for _, h := range snaps {
		checkMany(t, d, &ReadOptions{Snapshot: h.s}, h.m, batch, "a snapshot")
		h.s.Release()
	}
	checkMany(t, d, nil, m, batch, "the latest state")
}

// TestGetManySort checks the batch order against a comparison sort, on batches built to make
// the radix sort's ties hard: short keys of zero bytes (equal in their eight-byte numbers, told
// apart only by length), keys sharing long prefixes, duplicates, the empty key, and batches
// whose keys all share a prefix.
func TestGetManySort(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 7))
	alphabet := []byte{0, 0, 0, 1, 'a', 0xff}
	var ents, tmp []sortEnt
	for round := range 200 {
		n := rng.IntN(3 * radixMin)
		prefix := workload.RandomBytes(rng, rng.IntN(3)*rng.IntN(12))
		batch := make([][]byte, n)
		for i := range batch {
			if i > 0 && rng.IntN(5) == 0 {
				batch[i] = batch[rng.IntN(i)]
				continue
			}
			k := append([]byte(nil), prefix...)
			for range rng.IntN([]int{3, 10, 20}[rng.IntN(3)]) {
				k = append(k, alphabet[rng.IntN(len(alphabet))])
			}
			batch[i] = k
		}
		want := make([]uint32, n)
		for i := range want {
			want[i] = uint32(i)
		}
		slices.SortStableFunc(want, func(a, b uint32) int { return bytes.Compare(batch[a], batch[b]) })
		for _, cmp := range []Comparator{BytewiseComparator, testcmp.Other{}} {
			ents, tmp = sortBatch(batch, cmp, commonPrefixLen(batch), ents, tmp, 1+round%2, nil)
			got := make([]uint32, len(ents))
			for i, e := range ents {
				got[i] = e.idx
			}
			require.Equal(t, want, got, "round %d, %d keys, %s", round, n, cmp.Name())
		}
	}
}

// TestRadixSort checks the radix sort against a comparison sort, serial and split across
// goroutines, with a pooled scratch and an allocated one, on numbers drawn to exercise its
// paths: all equal, bytes alike in every entry (the first pass on a low byte; later passes
// skipped), a few distinct values (buckets of many equal numbers), and random ones.
func TestRadixSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 8))
	var tmp []sortEnt
	for round := range 80 {
		n := 1 + rng.IntN(1<<uint(rng.IntN(15)))
		mask := ^uint64(0)
		switch round % 4 {
		case 0:
			mask = 0
		case 1:
			mask = 0x00ff00000000ff00
		case 2:
			mask = 0x0300000000000001
		}
		ents := make([]sortEnt, n)
		for i := range ents {
			ents[i] = sortEnt{pfx: rng.Uint64() & mask, idx: uint32(i)}
		}
		want := slices.Clone(ents)
		slices.SortStableFunc(want, func(a, b sortEnt) int { return cmp.Compare(a.pfx, b.pfx) })
		ways := 1 + round%3
		if round%5 == 0 {
			allocs := 0
			radixSort(ents, nil, ways, func(k int) []sortEnt {
				allocs++
				require.LessOrEqual(t, k, n, "the scratch is never longer than the batch")
				return make([]sortEnt, k)
			})
			require.LessOrEqual(t, allocs, 1)
		} else {
			tmp = radixSort(ents, tmp, ways, nil)
		}
		require.True(t, slices.IsSortedFunc(ents, func(a, b sortEnt) int { return cmp.Compare(a.pfx, b.pfx) }), "round %d: %d entries, %d ways: not sorted", round, n, ways)
		// The same entries: sort both by (number, index) and compare.
		byIdx := func(a, b sortEnt) int {
			if c := cmp.Compare(a.pfx, b.pfx); c != 0 {
				return c
			}
			return cmpIdx(a, b)
		}
		slices.SortFunc(ents, byIdx)
		slices.SortFunc(want, byIdx)
		require.Equal(t, want, ents, "round %d: %d entries, %d ways", round, n, ways)
	}
}

// TestGetManyKeyLengths looks up keys on both sides of what a sort entry holds whole (sixteen
// bytes past the batch's common prefix): keys sharing a long prefix or none, of every length
// up to 40, zero bytes at their ends (which the entries' zero padding must not confuse with a
// shorter key), present in tables and the memtable, absent, and repeated.
func TestGetManyKeyLengths(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 9))
	d := openMem(t, vfs.NewMem(), &Options{WriteBufferSize: 64 << 10})
	defer d.Close()
	want := kv{}
	for _, prefix := range []string{"", "shared/prefix/of/twenty/"} {
		var all [][]byte
		for i := range 3000 {
			k := []byte(prefix)
			k = append(k, workload.RandomBytes(rng, i%41)...)
			if i%7 == 0 {
				k = append(k, 0, 0) // a key and the same with zeros after it
				all = append(all, k[:len(k)-1], k[:len(k)-2])
			}
			all = append(all, k)
		}
		for i, k := range all {
			if i%2 == 0 {
				v := fmt.Sprintf("v%d", i)
				require.NoError(t, d.Put(k, []byte(v), nil))
				want[string(k)] = v
			}
			if i == len(all)/2 {
				require.NoError(t, d.CompactRange(nil, nil)) // half in tables, half in memtables
			}
		}
		batch := make([][]byte, 0, 2*len(all))
		for range cap(batch) {
			batch = append(batch, all[rng.IntN(len(all))])
		}
		checkMany(t, d, nil, want, batch, fmt.Sprintf("prefix %q", prefix))
	}
}
