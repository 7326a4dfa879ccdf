package db

// TestConcurrentRace runs writers, readers, iterators and CompactRange at once, with a small write
// buffer so that flushes and compactions run under them, and checks what readers can verify
// while it runs. Run it under the race detector: go test -race -run Race ./db/. TestGroupCommit
// and TestGroupCommitMixedSync check that concurrent writers share log records and syncs.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/batch"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/vfs"
	"github.com/stratadb/strata/wal"
)

const (
	raceWriters  = 4
	raceKeys     = 16 // "k" keys per writer, never deleted once written
	raceDelKeys  = 4  // "d" keys per writer, put and deleted
	raceValuePad = 40
)

// Writer w owns the keys "w<w>/...": "k<j>" and "d<j>" are set to the writer's counter at the
// time (so each key's counter only grows), and "a" and "b" are set to the same counter by one
// batch (so any consistent view shows them equal).
func raceKey(w int, name string) []byte { return fmt.Appendf(nil, "w%d/%s", w, name) }

func raceValue(c int, rng *rand.Rand) []byte {
	return fmt.Appendf(nil, "%09d:%s", c, strings.Repeat("v", rng.IntN(raceValuePad)))
}

// raceCounter parses a value's counter.
func raceCounter(v []byte) (int, error) {
	s, _, ok := bytes.Cut(v, []byte(":"))
	if !ok {
		return 0, fmt.Errorf("malformed value %q", v)
	}
	return strconv.Atoi(string(s))
}

// raceChecker collects the first failure of any goroutine and stops the others.
type raceChecker struct {
	failed atomic.Bool
	mu     sync.Mutex
	errs   []string
}

func (c *raceChecker) errorf(format string, args ...any) {
	c.failed.Store(true)
	c.mu.Lock()
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
	c.mu.Unlock()
}

// seen tracks, per key, the newest counter one reader has seen: it must never go down.
type seen map[string]int

func (s seen) observe(c *raceChecker, who string, key []byte, v []byte) {
	n, err := raceCounter(v)
	if err != nil {
		c.errorf("%s: %s: %v", who, key, err)
		return
	}
	if prev := s[string(key)]; n < prev {
		c.errorf("%s: %s went back from counter %d to %d", who, key, prev, n)
	}
	s[string(key)] = n
}

func TestConcurrentRace(t *testing.T) {
	seed := testSeed(t)
	fs := vfs.NewMem()
	opts := &Options{WriteBufferSize: 64 << 10, MaxFileSize: 1 << 20, BlockSize: 1 << 10}
	d := openMem(t, fs, opts)
	var (
		chk        raceChecker
		writersWG  sync.WaitGroup
		readersWG  sync.WaitGroup
		stop       atomic.Bool
		final      [raceWriters]map[string]string // writer w's last value per key ("" = deleted)
		opsPerW    = 5000
		deadline   = time.Now().Add(3 * time.Second)
		totalWrite atomic.Int64
	)
	for w := range raceWriters {
		final[w] = map[string]string{}
		writersWG.Add(1)
		go func() {
			defer writersWG.Done()
			rng := newRand(seed + uint64(w))
			for c := 1; c <= opsPerW && !chk.failed.Load() && time.Now().Before(deadline); c++ {
				var err error
				switch x := rng.IntN(20); {
				case x < 10:
					k, v := raceKey(w, fmt.Sprintf("k%02d", rng.IntN(raceKeys))), raceValue(c, rng)
					err = d.Put(k, v, &WriteOptions{Sync: x == 0})
					final[w][string(k)] = string(v)
				case x < 14:
					var b Batch
					v := raceValue(c, rng)
					b.Put(raceKey(w, "a"), v)
					b.Put(raceKey(w, "b"), v)
					k := raceKey(w, fmt.Sprintf("k%02d", rng.IntN(raceKeys)))
					b.Put(k, v)
					err = d.Write(&b, &WriteOptions{Sync: x == 10})
					final[w][string(raceKey(w, "a"))], final[w][string(raceKey(w, "b"))] = string(v), string(v)
					final[w][string(k)] = string(v)
				case x < 17:
					k, v := raceKey(w, fmt.Sprintf("d%d", rng.IntN(raceDelKeys))), raceValue(c, rng)
					err = d.Put(k, v, nil)
					final[w][string(k)] = string(v)
				default:
					k := raceKey(w, fmt.Sprintf("d%d", rng.IntN(raceDelKeys)))
					err = d.Delete(k, nil)
					final[w][string(k)] = ""
				}
				if err != nil {
					chk.errorf("writer %d: %v", w, err)
					return
				}
				totalWrite.Add(1)
			}
		}()
	}

	reader := func(id int, body func(rng *rand.Rand, s seen)) {
		readersWG.Add(1)
		go func() {
			defer readersWG.Done()
			rng := newRand(seed + 100 + uint64(id))
			s := seen{}
			for !stop.Load() && !chk.failed.Load() {
				body(rng, s)
			}
		}()
	}
	for id := range 2 {
		reader(id, func(rng *rand.Rand, s seen) { raceGets(d, &chk, rng, s) })
	}
	for id := range 2 {
		reader(10+id, func(rng *rand.Rand, s seen) { raceIterate(d, &chk, rng, s) })
	}
	reader(20, func(rng *rand.Rand, _ seen) {
		w := rng.IntN(raceWriters)
		if err := d.CompactRange(raceKey(w, ""), raceKey(w, "z")); err != nil {
			chk.errorf("CompactRange: %v", err)
		}
		if _, ok := d.Property("leveldb.stats"); !ok {
			chk.errorf("leveldb.stats unknown")
		}
		if _, err := d.ApproximateSizes([]Range{{Start: raceKey(w, ""), Limit: raceKey(w, "z")}}); err != nil {
			chk.errorf("ApproximateSizes: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	})

	writersWG.Wait()
	stop.Store(true)
	readersWG.Wait()
	require.False(t, chk.failed.Load(), "%s", strings.Join(chk.errs[:min(len(chk.errs), 10)], "\n"))

	want := kv{}
	for w := range raceWriters {
		for k, v := range final[w] {
			if v != "" {
				want[k] = v
			}
		}
	}
	requireSame(t, want, dump(t, d, nil), "after the writers finished")
	stats, _ := d.Property("leveldb.stats")
	require.NoError(t, d.Close())
	d = openMem(t, fs, opts)
	requireSame(t, want, dump(t, d, nil), "reopened")
	require.NoError(t, d.Close())
	t.Logf("%d writes\n%s", totalWrite.Load(), stats)
}

// raceGets reads single keys, the a/b pair through a snapshot (equal) and without one (b at
// least as new as a, read after it).
func raceGets(d *DB, chk *raceChecker, rng *rand.Rand, s seen) {
	w := rng.IntN(raceWriters)
	switch rng.IntN(3) {
	case 0:
		k := raceKey(w, fmt.Sprintf("k%02d", rng.IntN(raceKeys)))
		v, err := d.Get(k, nil)
		switch {
		case err == nil:
			s.observe(chk, "Get", k, v)
		case !isNotFound(err):
			chk.errorf("Get(%s): %v", k, err)
		case s[string(k)] > 0:
			chk.errorf("Get(%s): a key never deleted disappeared", k)
		}
	case 1:
		snap := d.NewSnapshot()
		defer snap.Release()
		ro := &ReadOptions{Snapshot: snap}
		a, errA := d.Get(raceKey(w, "a"), ro)
		time.Sleep(time.Duration(rng.IntN(50)) * time.Microsecond) // let writers move on
		b, errB := d.Get(raceKey(w, "b"), ro)
		if (errA == nil) != (errB == nil) || !bytes.Equal(a, b) {
			chk.errorf("snapshot read of w%d's pair: a=%q (%v), b=%q (%v)", w, a, errA, b, errB)
		}
		if errA == nil {
			s.observe(chk, "snapshot Get", raceKey(w, "a"), a)
		}
	default:
		a, errA := d.Get(raceKey(w, "a"), nil)
		b, errB := d.Get(raceKey(w, "b"), nil)
		if errA != nil || errB != nil {
			if errA == nil || !isNotFound(errA) || (errB != nil && !isNotFound(errB)) {
				chk.errorf("pair of w%d: %v, %v", w, errA, errB)
			}
			return
		}
		ca, _ := raceCounter(a)
		cb, _ := raceCounter(b)
		if cb < ca {
			chk.errorf("pair of w%d: b (%d), read after a, is older than a (%d)", w, cb, ca)
		}
	}
}

// raceIterate walks a whole iterator forward or backward, or one writer's keys within bounds,
// and checks the order, the pairs, the counters, and that a second walk of the same iterator
// sees the same state.
func raceIterate(d *DB, chk *raceChecker, rng *rand.Rand, s seen) {
	ro := &ReadOptions{}
	if rng.IntN(3) == 0 {
		snap := d.NewSnapshot()
		defer snap.Release()
		ro.Snapshot = snap
	}
	w := rng.IntN(raceWriters)
	if rng.IntN(2) == 0 {
		ro.LowerBound, ro.UpperBound = raceKey(w, ""), raceKey(w, "~")
	}
	it := d.NewIterator(ro)
	defer it.Close()
	walk := func(reverse bool) kv {
		got := kv{}
		var prev []byte
		ok, next := it.First(), it.Next
		if reverse {
			ok, next = it.Last(), it.Prev
		}
		for ; ok; ok = next() {
			k := it.Key()
			if prev != nil && (bytes.Compare(prev, k) >= 0) != reverse {
				chk.errorf("iterator (reverse=%v): %q then %q", reverse, prev, k)
			}
			if ro.LowerBound != nil && (bytes.Compare(k, ro.LowerBound) < 0 || bytes.Compare(k, ro.UpperBound) >= 0) {
				chk.errorf("iterator: %q outside [%q, %q)", k, ro.LowerBound, ro.UpperBound)
			}
			prev = append(prev[:0], k...)
			got[string(k)] = string(it.Value())
		}
		if err := it.Error(); err != nil {
			chk.errorf("iterator: %v", err)
		}
		return got
	}
	reverse := rng.IntN(2) == 0
	first := walk(reverse)
	for k, v := range first {
		s.observe(chk, "iterator", []byte(k), []byte(v))
	}
	for w := range raceWriters {
		a, b := first[string(raceKey(w, "a"))], first[string(raceKey(w, "b"))]
		if a != b {
			chk.errorf("iterator: w%d's pair differs: a=%q b=%q", w, a, b)
		}
	}
	time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
	if second := walk(!reverse); len(second) != len(first) {
		chk.errorf("the same iterator walked twice: %d keys, then %d", len(first), len(second))
	} else {
		for k, v := range first {
			if second[k] != v {
				chk.errorf("the same iterator walked twice: %q was %q, then %q", k, short(v), short(second[k]))
				break
			}
		}
	}
	if k := raceKey(w, fmt.Sprintf("k%02d", rng.IntN(raceKeys))); it.Seek(k) && bytes.Compare(it.Key(), k) < 0 {
		chk.errorf("Seek(%q) landed on %q", k, it.Key())
	}
	if k := raceKey(w, fmt.Sprintf("k%02d", rng.IntN(raceKeys))); it.SeekLT(k) && bytes.Compare(it.Key(), k) >= 0 {
		chk.errorf("SeekLT(%q) landed on %q", k, it.Key())
	}
}

// TestGroupCommit proves that concurrent synced writes share log records and fsyncs: with the
// log's fsync made as slow as a disk's, 16 goroutines doing synced Puts produce far fewer log
// syncs and log records than writes, and every write is there afterwards. The groups hold
// nearly all 16 writers (a leader lingers for company: lingerLocked); without that they
// alternate between one writer and fifteen, two syncs per sixteen writes.
func TestGroupCommit(t *testing.T) {
	const goroutines, perG = 16, 40
	var logSyncs atomic.Int64
	mem := vfs.NewMem()
	fs := vfs.WithFaults(mem, vfs.InjectorFunc(func(op vfs.Op, path string) error {
		if op == vfs.OpSync && strings.HasSuffix(path, ".log") {
			logSyncs.Add(1)
			time.Sleep(500 * time.Microsecond) // a disk's fsync, so that writers queue behind it
		}
		return nil
	}))
	d := openMem(t, fs, nil) // the default 4 MiB buffer: one log, no rotation
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perG {
				k, v := fmt.Appendf(nil, "g%02d-%03d", g, i), fmt.Appendf(nil, "value %d/%d", g, i)
				if err := d.Put(k, v, &WriteOptions{Sync: true}); err != nil {
					t.Errorf("Put: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	syncs := logSyncs.Load()
	require.NoError(t, d.Close())

	const writes = goroutines * perG
	records, entries := countLogRecords(t, mem, "/db")
	t.Logf("%d synced writes: %d log records, %d log syncs", writes, records, syncs)
	require.Equal(t, writes, entries, "every write is in the log")
	require.Less(t, records, writes/2, "writes were not grouped into shared log records")
	require.Less(t, syncs, int64(writes/2), "writes were not grouped into shared fsyncs")
	require.LessOrEqual(t, syncs, int64(writes/9), "synced groups alternate between one writer and the rest")

	d = openMem(t, mem, nil)
	defer d.Close()
	for g := range goroutines {
		for i := range perG {
			v, err := d.Get(fmt.Appendf(nil, "g%02d-%03d", g, i), nil)
			require.NoError(t, err)
			require.Equal(t, fmt.Sprintf("value %d/%d", g, i), string(v))
		}
	}
}

// countLogRecords reads every log file in dir and returns the number of records and of batch
// entries they hold.
func countLogRecords(t *testing.T, fs vfs.FS, dir string) (records, entries int) {
	t.Helper()
	names, err := fs.List(dir)
	require.NoError(t, err)
	for _, n := range names {
		if kind, _, ok := filenames.Parse(n); !ok || kind != filenames.Log {
			continue
		}
		f, err := fs.Open(filepath.Join(dir, n))
		require.NoError(t, err)
		r := wal.NewReader(f, n)
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			records++
			entries += int(batch.Repr(rec).Count())
		}
		require.NoError(t, f.Close())
	}
	return records, entries
}

// TestGroupCommitMixedSync checks that unsynced writes queued behind a synced leader, and synced
// writes queued behind an unsynced one, all complete and survive a process kill (same MemFS),
// and that every synced one survives a power loss.
func TestGroupCommitMixedSync(t *testing.T) {
	mem := vfs.NewMem()
	fs := vfs.WithFaults(mem, vfs.InjectorFunc(func(op vfs.Op, path string) error {
		if op == vfs.OpSync && strings.HasSuffix(path, ".log") {
			time.Sleep(200 * time.Microsecond)
		}
		return nil
	}))
	d := openMem(t, fs, nil)
	var wg sync.WaitGroup
	var synced sync.Map
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				k := fmt.Sprintf("g%d-%02d", g, i)
				sync := (g+i)%3 == 0
				if err := d.Put([]byte(k), []byte(k), &WriteOptions{Sync: sync}); err != nil {
					t.Errorf("Put: %v", err)
					return
				}
				if sync {
					synced.Store(k, true)
				}
			}
		}()
	}
	wg.Wait()
	crash := mem.CrashClone()
	require.NoError(t, d.Close())

	d = openMem(t, mem, nil)
	got := dump(t, d, nil)
	require.NoError(t, d.Close())
	require.Len(t, got, 8*50, "every acknowledged write after a clean close")

	d = openMem(t, crash, nil)
	got = dump(t, d, nil)
	require.NoError(t, d.Close())
	synced.Range(func(k, _ any) bool {
		require.Contains(t, got, k.(string), "a synced write lost to a power loss")
		return true
	})
}
