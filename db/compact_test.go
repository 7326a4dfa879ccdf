package db

// Compaction through the DB: obsolete tables deleted, overwrites dropped by the flush, write
// stalls counted, seek compactions, user keys split across tables. The randomized compaction
// models (TestCompactionModel, TestCompactionKeepsData, TestCompactionInParts) are cases of the
// one randomized model, in model_test.go.

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/testutil/filetest"
	"github.com/stratadb/strata/vfs"
)

// TestCompactionDeletesObsoleteTables checks that once CompactRange returns, the tables it
// replaced are gone from the disk (a compaction deletes its inputs as soon as it is installed,
// not at the next flush), and that the tables on disk are those of the current Version.
func TestCompactionDeletesObsoleteTables(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(d *DB, rng *rand.Rand)
	}{
		{"inputs", func(d *DB, _ *rand.Rand) {
			for i := 0; i < 20000; i++ {
				require.NoError(t, d.Put([]byte(fmt.Sprintf("key%06d", i)), make([]byte, 100), nil))
			}
			for i := 0; i < 3000; i++ {
				require.NoError(t, d.Put([]byte(fmt.Sprintf("key%06d", (i*7919)%20000)), make([]byte, 100), nil))
			}
		}},
		{"overlapping", func(d *DB, rng *rand.Rand) {
			for i := range 3000 {
				// Every table overlaps the first one ("z" is in all of them), so compactions rewrite.
				require.NoError(t, d.Put(fmt.Appendf(nil, "k%05d", rng.IntN(3000)), randValue(rng, 300), nil))
				if i%50 == 0 {
					require.NoError(t, d.Put([]byte("z"), randValue(rng, 10), nil))
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := vfs.NewMem()
			d := openMem(t, fs, &Options{WriteBufferSize: 64 << 10})
			defer d.Close()
			tc.write(d, newRand(3))
			require.NoError(t, d.CompactRange(nil, nil))
			total := 0
			for _, n := range levelCounts(t, d) {
				total += n
			}
			live := currentFiles(d)
			require.Len(t, live, total, "num-files-at-level<N> adds up to the tables of the current Version")
			require.Equal(t, live, tableFiles(t, fs), "tables replaced by CompactRange are still on disk")
		})
	}
}

// TestFlushDropsOverwrites overwrites the same keys many times within one memtable: the flush
// (at CompactRange, and the one recovery makes on reopening) writes only the newest version of
// each key, except what a live snapshot still reads, and never loses the newest.
func TestFlushDropsOverwrites(t *testing.T) {
	fs := vfs.NewMem()
	d := openMem(t, fs, &Options{WriteBufferSize: 8 << 20, Compression: NoCompression})
	put := func(round int) {
		for i := range 100 {
			require.NoError(t, d.Put(fmt.Appendf(nil, "k%03d", i), fmt.Appendf(nil, "v%02d-%0500d", round, i), nil))
		}
	}
	tableBytes := func() uint64 {
		size, err := d.ApproximateSizes([]Range{{Start: []byte("k"), Limit: []byte("l")}})
		require.NoError(t, err)
		return size[0]
	}
	check := func(round int, ro *ReadOptions) {
		t.Helper()
		got := dump(t, d, ro)
		require.Len(t, got, 100)
		for k, v := range got {
			require.Equal(t, fmt.Sprintf("v%02d", round), v[:3], "key %s", k)
		}
	}
	for round := range 10 {
		put(round)
	}
	s := d.NewSnapshot() // reads round 9
	for round := 10; round < 20; round++ {
		put(round)
	}
	require.NoError(t, d.CompactRange(nil, nil))
	// Round 9 (the snapshot's) survives, and so do the rounds after it: the rule knows only the
	// oldest snapshot, and cannot tell that no other reads rounds 10 to 18. Rounds 0 to 8 go.
	require.InDelta(t, 11*100*520, float64(tableBytes()), 40_000)
	check(19, nil)
	check(9, &ReadOptions{Snapshot: s})
	s.Release()
	require.NoError(t, d.CompactRange(nil, nil)) // the in-place rewrite drops the rest
	require.InDelta(t, 100*520, float64(tableBytes()), 10_000)
	check(19, nil)

	// Recovery: twenty rounds in the log only, then a reopen flushes them to a table.
	for round := 20; round < 40; round++ {
		put(round)
	}
	require.NoError(t, d.Close())
	d = openMem(t, fs, &Options{WriteBufferSize: 8 << 20, Compression: NoCompression})
	defer d.Close()
	check(39, nil)
	require.NoError(t, d.CompactRange(nil, nil))
	require.InDelta(t, 100*520, float64(tableBytes()), 10_000)
	check(39, nil)
}

// TestWriteStallsCounted drives level 0 past the slowdown trigger (8 files) and requires the
// stall to show in leveldb.stats. Compaction is slowed down (each read of a table file sleeps a
// millisecond; compaction reads its inputs block by block, while a flush reads only its own new
// table's footer and index), so flushes, which go first, pile up level-0 files while a
// compaction runs. The test waits for the counter, not for a time: no timing assumption beyond
// "a slowed compaction takes longer than a few flushes".
func TestWriteStallsCounted(t *testing.T) {
	mem := vfs.NewMem()
	fs := vfs.WithFaults(mem, vfs.InjectorFunc(func(op vfs.Op, path string) error {
		if op == vfs.OpRead && strings.HasSuffix(path, ".ldb") {
			time.Sleep(time.Millisecond)
		}
		return nil
	}))
	d := openMem(t, fs, &Options{WriteBufferSize: 64 << 10})
	defer d.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	slowdown := regexp.MustCompile(`Write stalls: ([0-9.]+) s delayed at the slowdown trigger`)
	stalled := func() (float64, string) {
		stats, ok := d.Property("leveldb.stats")
		require.True(t, ok)
		m := slowdown.FindStringSubmatch(stats)
		require.NotNil(t, m, "leveldb.stats does not report write stalls:\n%s", stats)
		s, err := strconv.ParseFloat(m[1], 64)
		require.NoError(t, err)
		return s, stats
	}
	maxL0 := 0
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; ; i++ {
		k := fmt.Sprintf("k%06d", rng.IntN(50000))
		require.NoError(t, d.Put([]byte(k), randValue(rng, 200), nil))
		if i%100 != 0 {
			continue
		}
		maxL0 = max(maxL0, levelCounts(t, d)[0])
		if s, stats := stalled(); s > 0 {
			t.Logf("after %d writes: level 0 reached %d files (at least)\n%s", i+1, maxL0, stats)
			break
		}
		require.True(t, time.Now().Before(deadline), "no write stall after %d writes; level 0 reached %d files", i+1, maxL0)
	}
	// Stalls only delay: everything written is there.
	require.NoError(t, d.CompactRange(nil, nil))
	require.Less(t, levelCounts(t, d)[0], 8)
}

// TestSeekCompaction makes reads miss in a level-1 table until its allowed seeks (100 for a small
// table) run out, and requires the background compaction to move it down, as a seek compaction.
func TestSeekCompaction(t *testing.T) {
	fs := vfs.NewMem()
	d := openMem(t, fs, &Options{WriteBufferSize: 64 << 10})
	defer d.Close()
	val := bytes.Repeat([]byte("v"), 100)
	// Even keys, in order: each flush overlaps nothing in the tree and goes straight to level 2.
	for i := 0; i < 2000; i += 2 {
		require.NoError(t, d.Put([]byte(fmt.Sprintf("k%05d", i)), val, nil))
	}
	require.NoError(t, d.CompactRange(nil, nil))
	levels := levelCounts(t, d)
	require.Equal(t, [compaction.NumLevels]int{0, 0, levels[2], 0, 0, 0, 0}, levels)
	// Odd keys, more than a memtable's worth: the full memtable overlaps level 2 only, and is
	// flushed to level 1. (The rest stays in the memtable, out of the way of the reads below.)
	for i := 1; ; i += 2 {
		require.NoError(t, d.Put([]byte(fmt.Sprintf("k%05d", i)), val, nil))
		if levelCounts(t, d)[1] >= 1 {
			break
		}
		require.Less(t, i, 2000, "no flush to level 1")
	}
	// Each read of an even key inside a level-1 table's range searches that table in vain before
	// finding the key at level 2. (Under load the writes above can fill a second memtable before
	// the first is flushed, so level 1 may hold two tables: the reads follow the first one left.)
	l1Range := func() (lo, hi int, ok bool) {
		d.mu.Lock()
		defer d.mu.Unlock()
		files := d.mu.vs.Current().Levels[1]
		if len(files) == 0 {
			return 0, 0, false
		}
		_, err1 := fmt.Sscanf(string(files[0].SmallestUser()), "k%05d", &lo)
		_, err2 := fmt.Sscanf(string(files[0].LargestUser()), "k%05d", &hi)
		require.NoError(t, errors.Join(err1, err2))
		return lo, hi, true
	}
	for i := 0; i < 2000; i++ {
		lo, hi, ok := l1Range()
		if !ok {
			break
		}
		first := (lo + 1) &^ 1 // the first even key in the range
		k := fmt.Sprintf("k%05d", first+2*(i%max(1, (hi-first)/2+1)))
		v, err := d.Get([]byte(k), nil)
		require.NoError(t, err, k)
		require.Equal(t, val, v)
		if i >= 100 {
			time.Sleep(time.Millisecond) // give the background compaction its turn
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for levelCounts(t, d)[1] > 0 {
		require.True(t, time.Now().Before(deadline), "the level-1 table was never compacted: %v", levelCounts(t, d))
		time.Sleep(time.Millisecond)
	}
	require.Contains(t, string(filetest.Read(t, fs, "/db/LOG")), "seek-triggered")
}

// TestCompactionSplitsUserKey keeps hundreds of versions of one key alive with snapshots, so
// that compaction outputs, cut at the target file size, split that user key across tables; and
// checks that every snapshot still reads its own version as the tables move down, are compacted
// again with some snapshots released, and finally shrink to one version.
func TestCompactionSplitsUserKey(t *testing.T) {
	fs := vfs.NewMem()
	d := openMem(t, fs, &Options{WriteBufferSize: 64 << 10, MaxFileSize: 1 << 20})
	defer func() { d.Close() }()
	rng := rand.New(rand.NewPCG(3, 4))
	const versions = 400 // x 8 KiB: over 3 MiB of one key
	type held struct {
		s *Snapshot
		v string
	}
	var snaps []held
	latest := ""
	for i := 0; i < versions; i++ {
		v := fmt.Sprintf("hot@%d:%s", i, randValue(rng, 8<<10))
		latest = v
		require.NoError(t, d.Put([]byte("hot"), []byte(v), nil))
		snaps = append(snaps, held{d.NewSnapshot(), v})
		require.NoError(t, d.Put([]byte(fmt.Sprintf("a%04d", i)), []byte("x"), nil))
		require.NoError(t, d.Put([]byte(fmt.Sprintf("z%04d", i)), []byte("y"), nil))
	}
	check := func(what string) {
		t.Helper()
		for _, h := range snaps {
			got, err := d.Get([]byte("hot"), &ReadOptions{Snapshot: h.s})
			require.NoError(t, err, what)
			require.True(t, h.v == string(got), "%s: a snapshot of %.8q reads %.8q", what, h.v, got)
		}
		got, err := d.Get([]byte("hot"), nil)
		require.NoError(t, err, what)
		require.True(t, latest == string(got), "%s: the latest state reads %.8q, want %.8q", what, got, latest)
	}
	check("before compaction")
	require.NoError(t, d.CompactRange(nil, nil))
	check("after CompactRange")

	// The bottom level must now hold "hot" in more than one table.
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
	sst, _ := d.Property("leveldb.sstables")
	require.Greater(t, split, 0, "no table boundary inside the versions of \"hot\":\n%s", sst)

	// Release the older half of the snapshots, write a newer version, and compact the key again:
	// the tables holding "hot" at the bottom are merged with the new version from above, the
	// versions older than the oldest snapshot left go (compaction knows only the oldest
	// snapshot), the others stay readable. (Without a newer version from above, CompactRange
	// would leave the bottom level as it is: see TestCompactRangeRewritesBottomLevel.)
	for _, h := range snaps[:versions/2] {
		h.s.Release()
	}
	snaps = snaps[versions/2:]
	latest = "newer"
	require.NoError(t, d.Put([]byte("hot"), []byte(latest), nil))
	before := tableBytes(d)
	require.NoError(t, d.CompactRange([]byte("hot"), []byte("hot")))
	check("after releasing half the snapshots and compacting again")
	require.Less(t, tableBytes(d), before*3/4, "released versions still take space")

	for _, h := range snaps {
		h.s.Release()
	}
	snaps = nil
	require.NoError(t, d.Put([]byte("hot"), []byte("last"), nil))
	latest = "last"
	snaps = append(snaps, held{d.NewSnapshot(), "last"})
	require.NoError(t, d.CompactRange(nil, nil))
	check("with one version left")
	require.Less(t, tableBytes(d), uint64(64<<10), "old versions of \"hot\" still take space")
	snaps[0].s.Release()
	require.NoError(t, d.Close())
	d = openMem(t, fs, nil)
	got, err := d.Get([]byte("hot"), nil)
	require.NoError(t, err)
	require.Equal(t, "last", string(got))
}
