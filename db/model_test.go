package db

// The randomized model test: random puts, deletes, batches, snapshots, reads, iterations and
// reopens on a MemFS with a small write buffer, each checked against an in-memory map (with a
// copy per live snapshot). Replay a failure with the seed it prints: go test ./db -run
// TestRandomizedModel -seed=N. -long runs more seeds and more operations.

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/testutil/iterutil"
	"github.com/stratadb/strata/internal/vfs"
)

func TestRandomizedModel(t *testing.T) {
	seeds, ops := 4, 3000
	if longMode() {
		seeds, ops = 25, 30000
	}
	if seedFixed() {
		seeds = 1
	}
	base := testSeed(t)
	for i := range seeds {
		seed := base + uint64(i)
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Logf("replay: go test ./db -run 'TestRandomizedModel' -seed=%d", seed)
			r := &modelRun{t: t, rng: newRand(seed)}
			r.run(ops)
		})
	}
}

// modelSnap is a live snapshot and the contents it must show.
type modelSnap struct {
	s *Snapshot
	m kv
}

type modelRun struct {
	t       *testing.T
	rng     *rand.Rand
	fs      *vfs.MemFS
	opts    Options
	d       *DB
	m       kv
	snaps   []modelSnap
	pool    []string // keys written so far, to pick overwrites and deletes from
	history []string // the last operations, printed on failure
	step    int
}

func (r *modelRun) logOp(format string, args ...any) {
	const keep = 40
	if len(r.history) == keep {
		r.history = r.history[1:]
	}
	r.history = append(r.history, fmt.Sprintf("%d: ", r.step)+fmt.Sprintf(format, args...))
}

func (r *modelRun) run(ops int) {
	t := r.t
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the last operations:\n  %s", strings.Join(r.history, "\n  "))
		}
	})
	r.opts = Options{WriteBufferSize: 64 << 10, BlockSize: 1 << 10, BlockRestartInterval: 1 + r.rng.IntN(16),
		MaxFileSize: 1 << 20, MaxOpenFiles: []int{0, 20}[r.rng.IntN(2)]} // 20: only 10 tables stay open
	r.fs = vfs.NewMem()
	r.d = openMem(t, r.fs, &r.opts)
	r.m = kv{}
	for r.step = 0; r.step < ops; r.step++ {
		r.op()
	}
	r.checkAll(nil, r.m, "end")
	sst, _ := r.d.Property("leveldb.sstables")
	r.reopen()
	r.checkAll(nil, r.m, "end, reopened")
	r.releaseAll()
	require.NoError(t, r.d.Close())
	t.Logf("%d operations, %d keys at the end; tables:\n%s", ops, len(r.m), sst)
}

func (r *modelRun) key() []byte {
	rng := r.rng
	switch x := rng.IntN(100); {
	case x < 3:
		return []byte{}
	case x < 30 && len(r.pool) > 0:
		return []byte(r.pool[rng.IntN(len(r.pool))])
	case x < 93:
		return fmt.Appendf(nil, "k%04d", rng.IntN(800))
	default:
		return randValue(rng, 1+rng.IntN(12)) // any bytes, 0x00 and 0xff included
	}
}

func (r *modelRun) value(maxSize int) []byte {
	rng := r.rng
	var n int
	switch x := rng.IntN(1000); {
	case x < 80:
		return []byte{}
	case x < 600:
		n = rng.IntN(24)
	case x < 900:
		n = rng.IntN(400)
	case x < 980:
		n = rng.IntN(4 << 10)
	case x < 999:
		n = 1 + rng.IntN(100<<10)
	default:
		n = 1<<20 + rng.IntN(3<<20) // several MiB, about three per 3000 operations
	}
	n = min(n, maxSize)
	if n > 4<<10 {
		return randValue(rng, n)
	}
	v := fmt.Appendf(make([]byte, 0, n+8), "%d:", r.step)
	for len(v) < n {
		v = append(v, 'a'+byte(rng.IntN(26)))
	}
	return v
}

func (r *modelRun) remember(k []byte) {
	if len(r.pool) < 2000 {
		r.pool = append(r.pool, string(k))
	}
}

func (r *modelRun) writeOptions() *WriteOptions {
	switch r.rng.IntN(10) {
	case 0:
		return nil
	case 1:
		return &WriteOptions{Sync: true}
	}
	return &WriteOptions{}
}

func (r *modelRun) op() {
	t, rng, d := r.t, r.rng, r.d
	x := rng.IntN(1000)
	switch {
	case x < 330:
		k, v := r.key(), r.value(16<<20)
		r.logOp("Put(%s, %d bytes)", short(string(k)), len(v))
		require.NoError(t, d.Put(k, v, r.writeOptions()))
		r.m[string(k)] = string(v)
		r.remember(k)
	case x < 430:
		k := r.key()
		r.logOp("Delete(%s)", short(string(k)))
		require.NoError(t, d.Delete(k, r.writeOptions()))
		delete(r.m, string(k))
	case x < 530:
		r.batch()
	case x < 545:
		r.logOp("Write(empty batch, sync)")
		require.NoError(t, d.Write(&Batch{}, &WriteOptions{Sync: true}))
	case x < 550:
		r.logOp("CompactRange")
		require.NoError(t, d.CompactRange(r.key(), nil))
	case x < 700:
		r.get(nil, r.m)
	case x < 750:
		if len(r.snaps) > 0 {
			s := r.snaps[rng.IntN(len(r.snaps))]
			r.get(s.s, s.m)
		}
	case x < 780:
		if len(r.snaps) < 6 {
			r.logOp("NewSnapshot")
			r.snaps = append(r.snaps, modelSnap{s: d.NewSnapshot(), m: maps.Clone(r.m)})
		}
	case x < 800:
		if len(r.snaps) > 0 {
			i := rng.IntN(len(r.snaps))
			r.logOp("Release snapshot %d", i)
			r.snaps[i].s.Release()
			r.snaps = append(r.snaps[:i], r.snaps[i+1:]...)
		}
	case x < 870:
		s, m := r.view()
		r.iterate(s, m)
	case x < 880:
		s, m := r.view()
		r.checkAll(s, m, "scan")
	case x < 885:
		s, m := r.view()
		r.logOp("All()")
		it := d.NewIterator(&ReadOptions{Snapshot: s})
		got := kv{}
		for k, v := range it.All() {
			got[string(k)] = string(v)
		}
		require.NoError(t, it.Close())
		requireSame(t, m, got, "All")
	case x < 891:
		r.reopen()
	default:
		r.get(nil, r.m)
	}
}

func (r *modelRun) batch() {
	t, rng := r.t, r.rng
	n := 1 + rng.IntN(20)
	if rng.IntN(20) == 0 {
		n = 1 + rng.IntN(300)
	}
	var b Batch
	next := maps.Clone(r.m)
	for range n {
		k := r.key()
		if rng.IntN(10) < 7 {
			v := r.value(100 << 10)
			b.Put(k, v)
			next[string(k)] = string(v)
			r.remember(k)
		} else {
			b.Delete(k)
			delete(next, string(k))
		}
	}
	require.Equal(t, n, b.Len())
	r.logOp("Write(batch of %d, %d bytes)", n, b.Size())
	require.NoError(t, r.d.Write(&b, r.writeOptions()))
	r.m = next
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
	k := r.key()
	r.logOp("Get(%s) at snapshot=%v", short(string(k)), s != nil)
	var ro *ReadOptions
	if s != nil || r.rng.IntN(2) == 0 {
		ro = &ReadOptions{Snapshot: s, VerifyChecksums: r.rng.IntN(4) == 0}
	}
	got, err := r.d.Get(k, ro)
	want, ok := m[string(k)]
	if !ok {
		require.ErrorIs(r.t, err, ErrNotFound, "Get(%s)", short(string(k)))
		return
	}
	require.NoError(r.t, err, "Get(%s)", short(string(k)))
	require.True(r.t, string(got) == want, "Get(%s) = %s, want %s", short(string(k)), short(string(got)), short(want))
}

func (r *modelRun) bound() []byte {
	if r.rng.IntN(2) == 0 {
		return nil
	}
	return r.key()
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

// checkAll compares a full forward scan, and a full reverse scan, with m.
func (r *modelRun) checkAll(s *Snapshot, m kv, what string) {
	t := r.t
	r.logOp("full scan (%s) snapshot=%v", what, s != nil)
	requireSame(t, m, dump(t, r.d, &ReadOptions{Snapshot: s}), "%s", what)
	it := r.d.NewIterator(&ReadOptions{Snapshot: s})
	want := m.Entries(nil, nil)
	i := len(want) - 1
	for ok := it.Last(); ok; ok = it.Prev() {
		require.GreaterOrEqual(t, i, 0, "%s: reverse scan yields more keys than the model", what)
		require.Equal(t, string(want[i].Key), string(it.Key()), "%s: reverse scan", what)
		require.True(t, bytes.Equal(want[i].Value, it.Value()), "%s: reverse scan value at %s", what, short(string(it.Key())))
		i--
	}
	require.Equal(t, -1, i, "%s: reverse scan stopped early", what)
	require.NoError(t, it.Close())
}

func (r *modelRun) releaseAll() {
	for _, s := range r.snaps {
		s.s.Release()
	}
	r.snaps = nil
}

// reopen closes the DB and opens it again, sometimes with different table options (the
// comparator never changes).
func (r *modelRun) reopen() {
	r.logOp("reopen")
	r.releaseAll()
	require.NoError(r.t, r.d.Close())
	if r.rng.IntN(2) == 0 {
		o := &r.opts
		o.ParanoidChecks = r.rng.IntN(2) == 0
		o.BloomBitsPerKey = []int{-1, 0, 4, 10}[r.rng.IntN(4)]
		o.Compression = []Compression{DefaultCompression, NoCompression, SnappyCompression}[r.rng.IntN(3)]
		o.BlockSize = []int{1 << 10, 4 << 10, 32 << 10}[r.rng.IntN(3)]
		o.MaxOpenFiles = []int{0, 20}[r.rng.IntN(2)]
	}
	r.d = openMem(r.t, r.fs, &r.opts)
	if r.rng.IntN(2) == 0 {
		r.checkAll(nil, r.m, "after reopen")
	}
}
