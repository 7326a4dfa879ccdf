package raftstore_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/db"
	"github.com/stratadb/strata/internal/testutil/testseed"
	"github.com/stratadb/strata/raftstore"
)

// openStore opens a store in dir, closed when the test ends (unless the test closed it).
func openStore(t testing.TB, dir string, opts *raftstore.Options) *raftstore.Store {
	t.Helper()
	s, err := raftstore.Open(dir, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, db.ErrClosed) {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// testLog is the entry the tests store at index i in term: every field set, its data 0 to
// 2 KiB long and different at each index and term.
func testLog(i, term uint64) *raft.Log {
	r := rand.New(rand.NewPCG(i, term))
	data := make([]byte, r.IntN(2048))
	for j := range data {
		data[j] = byte(r.Uint32())
	}
	l := &raft.Log{Index: i, Term: term, Type: raft.LogType(i % 6), Data: data,
		AppendedAt: time.Unix(1700000000+int64(i), int64(term)).Round(0)}
	if i%3 == 0 {
		l.Extensions = []byte(fmt.Sprintf("ext-%d", i))
	}
	return l
}

func testLogs(first, last, term uint64) []*raft.Log {
	var logs []*raft.Log
	for i := first; i <= last; i++ {
		logs = append(logs, testLog(i, term))
	}
	return logs
}

// requireLog requires the store to hold want at want.Index.
func requireLog(t testing.TB, s raft.LogStore, want *raft.Log) {
	t.Helper()
	var got raft.Log
	require.NoError(t, s.GetLog(want.Index, &got), "index %d", want.Index)
	require.Equal(t, want.Index, got.Index)
	require.Equal(t, want.Term, got.Term, "index %d", want.Index)
	require.Equal(t, want.Type, got.Type, "index %d", want.Index)
	require.True(t, bytes.Equal(want.Data, got.Data), "index %d: data differs", want.Index)
	require.True(t, bytes.Equal(want.Extensions, got.Extensions), "index %d: extensions differ", want.Index)
	require.True(t, want.AppendedAt.Equal(got.AppendedAt), "index %d: AppendedAt %v, want %v", want.Index, got.AppendedAt, want.AppendedAt)
}

func requireMissing(t testing.TB, s raft.LogStore, i uint64) {
	t.Helper()
	var l raft.Log
	err := s.GetLog(i, &l)
	require.True(t, err == raft.ErrLogNotFound, "GetLog(%d): want raft.ErrLogNotFound itself, got %v", i, err)
}

func requireBounds(t testing.TB, s raft.LogStore, first, last uint64) {
	t.Helper()
	f, err := s.FirstIndex()
	require.NoError(t, err)
	l, err := s.LastIndex()
	require.NoError(t, err)
	require.Equal(t, [2]uint64{first, last}, [2]uint64{f, l}, "FirstIndex, LastIndex")
}

func TestStoreEmpty(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	requireBounds(t, s, 0, 0)
	requireMissing(t, s, 0)
	requireMissing(t, s, 1)
	requireMissing(t, s, math.MaxUint64)
	require.NoError(t, s.DeleteRange(0, math.MaxUint64))
	require.NoError(t, s.StoreLogs(nil))
	requireBounds(t, s, 0, 0)

	// raft asks whether a node has state before bootstrapping it: an empty store has none,
	// which takes GetUint64's "not found".
	snaps := raft.NewInmemSnapshotStore()
	has, err := raft.HasExistingState(s, s, snaps)
	require.NoError(t, err)
	require.False(t, has)
	require.NoError(t, s.SetUint64([]byte("CurrentTerm"), 1))
	has, err = raft.HasExistingState(s, s, snaps)
	require.NoError(t, err)
	require.True(t, has)

	require.NoError(t, s.Close())
	s = openStore(t, dir, nil)
	requireBounds(t, s, 0, 0)
}

func TestStoreLogs(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	logs := testLogs(1, 100, 1)
	require.NoError(t, s.StoreLog(logs[0]))
	requireBounds(t, s, 1, 1)
	require.NoError(t, s.StoreLogs(logs[1:]))
	requireBounds(t, s, 1, 100)

	// Every field of every type of entry, the extremes included.
	odd := []*raft.Log{
		{Index: 200, Term: math.MaxUint64, Type: raft.LogType(255), Data: []byte{}, Extensions: []byte{0}},
		{Index: 201, Term: 7, Type: raft.LogNoop},
		{Index: 202, Term: 7, AppendedAt: time.Now().Round(0), Data: bytes.Repeat([]byte("big"), 100_000)},
	}
	require.NoError(t, s.StoreLogs(odd))
	requireBounds(t, s, 1, 202)
	for _, l := range append(logs, odd...) {
		requireLog(t, s, l)
	}
	var got raft.Log
	require.NoError(t, s.GetLog(202, &got))
	require.Equal(t, time.Local, got.AppendedAt.Location())

	// The caller owns what GetLog returns: changing it changes nothing stored.
	require.NoError(t, s.GetLog(5, &got))
	got.Data[0]++
	requireLog(t, s, logs[4])

	require.NoError(t, s.Close())
	s = openStore(t, dir, nil)
	requireBounds(t, s, 1, 202)
	for _, l := range append(logs, odd...) {
		requireLog(t, s, l)
	}
}

// TestStoreIndexZero: raft never writes index 0, but raft's benchmarks do; the store keeps it
// like any other (FirstIndex is then 0, as it is for an empty log).
func TestStoreIndexZero(t *testing.T) {
	s := openStore(t, t.TempDir(), nil)
	require.NoError(t, s.StoreLogs(testLogs(0, 2, 1)))
	requireBounds(t, s, 0, 2)
	requireLog(t, s, testLog(0, 1))
	require.NoError(t, s.DeleteRange(0, 0))
	requireBounds(t, s, 1, 2)
	require.NoError(t, s.DeleteRange(0, 9))
	requireBounds(t, s, 0, 0)
	requireMissing(t, s, 0)
}

func TestStoreGaps(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	require.NoError(t, s.StoreLogs(testLogs(1, 5, 1)))
	require.NoError(t, s.StoreLogs(testLogs(10, 12, 2)))
	// Out of order within a call, and below the first index.
	require.NoError(t, s.StoreLogs([]*raft.Log{testLog(20, 3), testLog(18, 3)}))
	requireBounds(t, s, 1, 20)
	for _, i := range []uint64{6, 9, 13, 17, 19, 21} {
		requireMissing(t, s, i)
	}
	// Deleting across a gap: the new first index is past it.
	require.NoError(t, s.DeleteRange(0, 7))
	requireBounds(t, s, 10, 20)
	require.NoError(t, s.DeleteRange(19, 25))
	requireBounds(t, s, 10, 18)

	require.NoError(t, s.Close())
	s = openStore(t, dir, nil)
	requireBounds(t, s, 10, 18)
	requireLog(t, s, testLog(18, 3))
	requireLog(t, s, testLog(12, 2))
	requireMissing(t, s, 13)
}

// TestStoreWideGap: a follower that installed a snapshot far ahead keeps its old entries and
// appends after a gap of millions; deleting across the gap deletes only what is there.
func TestStoreWideGap(t *testing.T) {
	s := openStore(t, t.TempDir(), nil)
	require.NoError(t, s.StoreLogs(testLogs(1, 100, 1)))
	require.NoError(t, s.StoreLogs(testLogs(50_000_000, 50_000_100, 9)))
	start := time.Now()
	require.NoError(t, s.DeleteRange(1, 50_000_050))
	require.Less(t, time.Since(start), 10*time.Second, "deleting 151 entries across a gap")
	requireBounds(t, s, 50_000_051, 50_000_100)
	requireLog(t, s, testLog(50_000_051, 9))
	requireMissing(t, s, 50_000_050)
	// And the other way: the old entries below a gap stay when the new ones are deleted.
	require.NoError(t, s.StoreLogs(testLogs(1, 10, 1)))
	require.NoError(t, s.DeleteRange(11, math.MaxUint64))
	requireBounds(t, s, 1, 10)
}

// TestStoreOverwrite: a follower whose log conflicts with the leader's deletes its suffix and
// stores the leader's entries at the same indexes, in a new term.
func TestStoreOverwrite(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	require.NoError(t, s.StoreLogs(testLogs(1, 10, 1)))
	require.NoError(t, s.DeleteRange(6, 10))
	requireBounds(t, s, 1, 5)
	requireMissing(t, s, 6)
	require.NoError(t, s.StoreLogs(testLogs(6, 8, 2)))
	requireBounds(t, s, 1, 8)
	for i := uint64(6); i <= 8; i++ {
		requireLog(t, s, testLog(i, 2))
	}
	requireMissing(t, s, 9)
	// Storing over an index without deleting it first replaces it too.
	require.NoError(t, s.StoreLog(testLog(3, 5)))
	requireLog(t, s, testLog(3, 5))

	require.NoError(t, s.Close())
	s = openStore(t, dir, nil)
	requireBounds(t, s, 1, 8)
	requireLog(t, s, testLog(3, 5))
	requireLog(t, s, testLog(8, 2))
	requireMissing(t, s, 9)
	requireMissing(t, s, 10)
}

func TestStoreDeleteRange(t *testing.T) {
	for _, tc := range []struct {
		name        string
		min, max    uint64
		first, last uint64 // after, from a log of 10..20; 0, 0 when empty
	}{
		{"MinAboveMax", 15, 12, 10, 20},
		{"BelowFirst", 1, 9, 10, 20},
		{"AboveLast", 21, 30, 10, 20},
		{"Whole", 10, 20, 0, 0},
		{"BeyondBothEnds", 0, math.MaxUint64, 0, 0},
		{"Prefix", 10, 14, 15, 20},
		{"PrefixFromBelow", 0, 14, 15, 20},
		{"Suffix", 15, 20, 10, 14},
		{"SuffixPastEnd", 15, math.MaxUint64, 10, 14},
		{"Middle", 12, 18, 10, 20},
		{"SingleFirst", 10, 10, 11, 20},
		{"SingleLast", 20, 20, 10, 19},
		{"SingleMiddle", 15, 15, 10, 20},
		{"AllButFirst", 11, 25, 10, 10},
		{"AllButLast", 5, 19, 20, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, dir, nil)
			require.NoError(t, s.StoreLogs(testLogs(10, 20, 1)))
			require.NoError(t, s.DeleteRange(tc.min, tc.max))
			check := func() {
				requireBounds(t, s, tc.first, tc.last)
				for i := uint64(8); i <= 22; i++ {
					if i >= 10 && i <= 20 && (tc.min > tc.max || i < tc.min || i > tc.max) {
						requireLog(t, s, testLog(i, 1))
					} else {
						requireMissing(t, s, i)
					}
				}
			}
			check()
			require.NoError(t, s.Close())
			s = openStore(t, dir, nil)
			check()
		})
	}
}

// TestStoreReopenAfterPrefixDeletes: raft deletes the log's head after each snapshot; the
// deletions stay in the DB as tombstones until compaction, and opening the store must find the
// first index past them, quickly.
func TestStoreReopenAfterPrefixDeletes(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, &raftstore.Options{NoSync: true})
	const total, step = 100_000, 10_000
	for i := uint64(1); i <= total; i += 1000 {
		require.NoError(t, s.StoreLogs(testLogs(i, i+999, 1)[:1000:1000]))
		if i > step && (i-1)%step == 0 {
			first, err := s.FirstIndex()
			require.NoError(t, err)
			require.NoError(t, s.DeleteRange(first, i-step/2))
		}
	}
	first, err := s.FirstIndex()
	require.NoError(t, err)
	require.Greater(t, first, uint64(total-2*step))
	require.NoError(t, s.Close())

	start := time.Now()
	s = openStore(t, dir, nil)
	took := time.Since(start)
	requireBounds(t, s, first, total)
	require.Less(t, took, 5*time.Second)
	t.Logf("open after deleting %d of %d entries: %v", first-1, total, took)
}

func TestStoreStable(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, nil)

	_, err := s.Get([]byte("missing"))
	require.ErrorIs(t, err, raftstore.ErrKeyNotFound)
	require.Equal(t, "not found", err.Error()) // what raft compares
	_, err = s.GetUint64([]byte("missing"))
	require.Equal(t, "not found", err.Error())

	require.NoError(t, s.Set([]byte("k"), []byte("v1")))
	require.NoError(t, s.Set([]byte("k"), []byte("v2")))
	require.NoError(t, s.Set([]byte{}, []byte("empty key")))
	require.NoError(t, s.Set([]byte("empty"), nil))
	require.NoError(t, s.SetUint64([]byte("CurrentTerm"), 0))
	require.NoError(t, s.SetUint64([]byte("LastVoteTerm"), math.MaxUint64))
	// Stable keys that look like log keys stay out of the log.
	require.NoError(t, s.Set([]byte{0, 0, 0, 0, 0, 0, 0, 1}, []byte("not a log")))
	requireBounds(t, s, 0, 0)

	check := func() {
		v, err := s.Get([]byte("k"))
		require.NoError(t, err)
		require.Equal(t, []byte("v2"), v)
		v, err = s.Get([]byte{})
		require.NoError(t, err)
		require.Equal(t, []byte("empty key"), v)
		v, err = s.Get([]byte("empty"))
		require.NoError(t, err)
		require.Empty(t, v)
		n, err := s.GetUint64([]byte("CurrentTerm"))
		require.NoError(t, err)
		require.Zero(t, n)
		n, err = s.GetUint64([]byte("LastVoteTerm"))
		require.NoError(t, err)
		require.Equal(t, uint64(math.MaxUint64), n)
		// A value Set with another length is no uint64.
		_, err = s.GetUint64([]byte("k"))
		require.ErrorIs(t, err, raftstore.ErrCorruption)
		require.ErrorIs(t, err, db.ErrCorruption)
		requireBounds(t, s, 0, 0)
	}
	check()
	require.NoError(t, s.Close())
	s = openStore(t, dir, nil)
	check()
}

func TestStoreClosed(t *testing.T) {
	s := openStore(t, t.TempDir(), nil)
	require.NoError(t, s.StoreLogs(testLogs(1, 3, 1)))
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.Close(), db.ErrClosed)

	var l raft.Log
	_, err := s.FirstIndex()
	require.ErrorIs(t, err, db.ErrClosed)
	_, err = s.LastIndex()
	require.ErrorIs(t, err, db.ErrClosed)
	require.ErrorIs(t, s.GetLog(1, &l), db.ErrClosed)
	require.ErrorIs(t, s.StoreLog(testLog(4, 1)), db.ErrClosed)
	require.ErrorIs(t, s.StoreLogs(testLogs(4, 5, 1)), db.ErrClosed)
	require.ErrorIs(t, s.DeleteRange(1, 2), db.ErrClosed)
	require.ErrorIs(t, s.Set([]byte("k"), []byte("v")), db.ErrClosed)
	require.ErrorIs(t, s.SetUint64([]byte("k"), 1), db.ErrClosed)
	_, err = s.Get([]byte("k"))
	require.ErrorIs(t, err, db.ErrClosed)
	_, err = s.GetUint64([]byte("k"))
	require.ErrorIs(t, err, db.ErrClosed)
}

// TestStoreOpenRefuses: a DB that is not a store's, one of another format, and one in use.
func TestStoreOpenRefuses(t *testing.T) {
	t.Run("OtherDB", func(t *testing.T) {
		dir := t.TempDir()
		d, err := db.Open(dir, nil)
		require.NoError(t, err)
		require.NoError(t, d.Put([]byte("user key"), []byte("v"), nil))
		require.NoError(t, d.Close())
		_, err = raftstore.Open(dir, nil)
		require.ErrorIs(t, err, db.ErrInvalidArgument)
		require.ErrorContains(t, err, "not a raft store")
	})
	t.Run("OtherFormat", func(t *testing.T) {
		dir := t.TempDir()
		d, err := db.Open(dir, nil)
		require.NoError(t, err)
		require.NoError(t, d.Put([]byte("mformat"), []byte("strata-raftstore 99"), nil))
		require.NoError(t, d.Close())
		_, err = raftstore.Open(dir, nil)
		require.ErrorIs(t, err, db.ErrInvalidArgument)
		require.ErrorContains(t, err, "strata-raftstore 99")
	})
	t.Run("InUse", func(t *testing.T) {
		dir := t.TempDir()
		openStore(t, dir, nil)
		_, err := raftstore.Open(dir, nil)
		require.ErrorIs(t, err, db.ErrLocked)
	})
	t.Run("BadDBOptions", func(t *testing.T) {
		_, err := raftstore.Open(filepath.Join(t.TempDir(), "missing"), &raftstore.Options{DB: &db.Options{ErrorIfMissing: true}})
		require.Error(t, err)
	})
}

// TestStoreConcurrent: writers storing disjoint runs of the log while another deletes its
// head, and readers reading it; afterwards the bounds and the entries are those of the model.
// Run it under -race too.
func TestStoreConcurrent(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	const writers, calls, per = 8, 40, 5
	require.NoError(t, s.StoreLogs(testLogs(1, 100, 1))) // the head, deleted while they write
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range calls {
				first := uint64(100 + (c*writers+w)*per + 1)
				if err := s.StoreLogs(testLogs(first, first+per-1, 1)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Add(2)
	go func() {
		defer bg.Done()
		for i := uint64(1); i <= 100; i += 10 {
			if err := s.DeleteRange(i, i+9); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer bg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			first, err1 := s.FirstIndex()
			last, err2 := s.LastIndex()
			if err := errors.Join(err1, err2); err != nil {
				t.Error(err)
				return
			}
			var l raft.Log
			if err := s.GetLog(last, &l); err != nil && err != raft.ErrLogNotFound {
				t.Error(err)
				return
			}
			_ = first
		}
	}()
	wg.Wait()
	close(stop)
	bg.Wait()

	const total = 100 + writers*calls*per
	requireBounds(t, s, 101, total)
	for i := uint64(101); i <= total; i++ {
		requireLog(t, s, testLog(i, 1))
	}
	require.NoError(t, s.Close())
	s = openStore(t, dir, nil)
	requireBounds(t, s, 101, total)
}

// TestStoreModel runs random StoreLogs, DeleteRange, reopens and lookups against a map, with
// the indexes drawn from a small range so that stores, deletions and gaps overlap.
func TestStoreModel(t *testing.T) {
	r := rand.New(rand.NewPCG(testseed.Seed(t), 1))
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	model := map[uint64]uint64{} // index -> term
	check := func(i uint64) {
		if term, ok := model[i]; ok {
			requireLog(t, s, testLog(i, term))
		} else {
			requireMissing(t, s, i)
		}
	}
	bounds := func() (first, last uint64) {
		if len(model) == 0 {
			return 0, 0
		}
		first, last = math.MaxUint64, 0
		for i := range model {
			first, last = min(first, i), max(last, i)
		}
		return first, last
	}
	for op := range 400 {
		switch n := r.IntN(100); {
		case n < 45:
			var logs []*raft.Log
			term := uint64(op + 1)
			for i, start := uint64(0), r.Uint64N(300); i < 1+r.Uint64N(20); i++ {
				logs = append(logs, testLog(start+i, term))
				model[start+i] = term
			}
			require.NoError(t, s.StoreLogs(logs))
		case n < 75:
			lo, hi := r.Uint64N(320), r.Uint64N(320)
			if r.IntN(4) == 0 {
				hi = lo + r.Uint64N(5)
			}
			require.NoError(t, s.DeleteRange(lo, hi))
			for i := lo; i <= hi; i++ {
				delete(model, i)
			}
		case n < 80:
			require.NoError(t, s.Close())
			s = openStore(t, dir, nil)
		default:
			check(r.Uint64N(320))
		}
		first, last := bounds()
		requireBounds(t, s, first, last)
	}
	for i := uint64(0); i < 320; i++ {
		check(i)
	}
}
