package memtable

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/iterator"
	"github.com/stratadb/strata/internal/keys"
)

func TestAddCopiesKeyAndValue(t *testing.T) {
	m := New(keys.Bytewise, 1<<12)
	k, v := []byte("key"), []byte("value")
	require.NoError(t, m.Add(1, keys.KindSet, k, v))
	copy(k, "xxx")
	copy(v, "zzzzz")
	got, res := m.Get([]byte("key"), 1)
	require.Equal(t, Found, res)
	require.Equal(t, "value", string(got))
}

func TestLargeValue(t *testing.T) {
	big := bytes.Repeat([]byte{0xab}, 16<<20)
	m := New(keys.Bytewise, EntrySize(3, len(big))+4096)
	require.NoError(t, m.Add(7, keys.KindSet, []byte("big"), big))
	got, res := m.Get([]byte("big"), 7)
	require.Equal(t, Found, res)
	require.True(t, bytes.Equal(big, got))
}

func TestFullLeavesTableUnchanged(t *testing.T) {
	m := New(keys.Bytewise, 4096)
	var n int
	for ; ; n++ {
		err := m.Add(keys.SeqNum(n), keys.KindSet, []byte(fmt.Sprintf("key%04d", n)), []byte("v"))
		if err != nil {
			require.ErrorIs(t, err, ErrFull)
			break
		}
	}
	used := m.ApproximateMemoryUsage()
	require.LessOrEqual(t, used, m.Capacity())
	require.ErrorIs(t, m.Add(999, keys.KindSet, []byte("x"), make([]byte, 5000)), ErrFull)
	require.Equal(t, used, m.ApproximateMemoryUsage())
	require.Equal(t, n, m.Len())
}

func TestBadKindRejected(t *testing.T) {
	m := New(keys.Bytewise, 4096)
	require.Error(t, m.Add(1, keys.Kind(5), []byte("k"), nil))
	require.Error(t, m.Add(keys.MaxSeqNum+1, keys.KindSet, []byte("k"), nil))
	require.NoError(t, m.Add(1, keys.KindSet, []byte("k"), nil))
	require.Error(t, m.Add(1, keys.KindSet, []byte("k"), nil), "the same key, sequence and kind twice")
	require.Equal(t, 1, m.Len())
}

func TestApproximateMemoryUsageGrows(t *testing.T) {
	m := New(keys.Bytewise, 1<<20)
	before := m.ApproximateMemoryUsage()
	require.NoError(t, m.Add(1, keys.KindSet, make([]byte, 100), make([]byte, 1000)))
	after := m.ApproximateMemoryUsage()
	require.GreaterOrEqual(t, after-before, 1100)
	require.LessOrEqual(t, after-before, EntrySize(100, 1000))
}

// TestSizeCountsAsLeveldb: Size counts each entry as leveldb's memtable does (encoding plus an
// average node), whatever the arena takes; a deletion counts no value, and a failed Add nothing.
func TestSizeCountsAsLeveldb(t *testing.T) {
	m := New(keys.Bytewise, 1<<20)
	require.Zero(t, m.Size())
	require.NoError(t, m.Add(1, keys.KindSet, make([]byte, 16), make([]byte, 100)))
	// 1 + 24 + 1 + 100 encoded, and a node of 8 + 8*4/3 bytes.
	require.Equal(t, 126+18, m.Size())
	require.NoError(t, m.Add(2, keys.KindDelete, make([]byte, 200), []byte("ignored")))
	require.Equal(t, 126+18+(2+208+1+18), m.Size())
	require.Error(t, m.Add(2, keys.KindDelete, make([]byte, 200), nil), "the same entry twice")
	require.Equal(t, 126+18+229, m.Size())
	require.Greater(t, m.ApproximateMemoryUsage(), m.Size(), "the arena takes more than leveldb would")
}

// TestModel replays random puts and deletes and checks Get at random snapshots, and a full scan,
// against a model that keeps every version.
// TestModel checks a table against a model, fresh and recycled (Reset after other entries).
func TestModel(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	t.Run("fresh", func(t *testing.T) { testModel(t, seed, New(keys.Bytewise, 1<<22)) })
	t.Run("reset", func(t *testing.T) {
		m := New(keys.Bytewise, 1<<22)
		for i := 0; i < 20000; i++ {
			require.NoError(t, m.Add(keys.SeqNum(i+1), keys.KindSet, fmt.Appendf(nil, "k%02d", i%60), []byte("old")))
		}
		m.Ref()
		require.False(t, m.Unref())
		require.True(t, m.Unref(), "the creator's reference was the last")
		m.Reset()
		require.True(t, m.Empty())
		require.Zero(t, m.Size())
		_, res := m.Get([]byte("k01"), keys.MaxSeqNum)
		require.Equal(t, Absent, res, "no old entry shows through the index")
		testModel(t, seed, m)
	})
}

func testModel(t *testing.T, seed uint64, m *MemTable) {
	rng := rand.New(rand.NewPCG(seed, 7))
	type version struct {
		seq   keys.SeqNum
		del   bool
		value string
	}
	history := map[string][]version{} // newest last
	const n = 4000
	for seq := keys.SeqNum(1); seq <= n; seq++ {
		k := fmt.Sprintf("k%02d", rng.IntN(50))
		if rng.IntN(4) == 0 {
			require.NoError(t, m.Add(seq, keys.KindDelete, []byte(k), nil))
			history[k] = append(history[k], version{seq, true, ""})
		} else {
			v := fmt.Sprintf("v%d", seq)
			require.NoError(t, m.Add(seq, keys.KindSet, []byte(k), []byte(v)))
			history[k] = append(history[k], version{seq, false, v})
		}
	}
	for i := 0; i < 5000; i++ {
		k := fmt.Sprintf("k%02d", rng.IntN(52))
		snap := keys.SeqNum(rng.IntN(n + 2))
		want, wantRes := "", Absent
		for _, v := range history[k] {
			if v.seq <= snap {
				want, wantRes = v.value, Found
				if v.del {
					want, wantRes = "", Deleted
				}
			}
		}
		got, res := m.Get([]byte(k), snap)
		require.Equal(t, wantRes, res, "%s at %d", k, snap)
		require.Equal(t, want, string(got), "%s at %d", k, snap)
	}
	var wantScan []string
	for k, vs := range history {
		for _, v := range vs {
			kind := keys.KindSet
			if v.del {
				kind = keys.KindDelete
			}
			wantScan = append(wantScan, string(keys.AppendInternalKey(nil, []byte(k), v.seq, kind)))
		}
	}
	sort.Slice(wantScan, func(i, j int) bool {
		return m.Comparator().Compare([]byte(wantScan[i]), []byte(wantScan[j])) < 0
	})
	var gotScan []string
	it := m.NewIterator()
	for ok := it.First(); ok; ok = it.Next() {
		gotScan = append(gotScan, string(it.Key()))
	}
	require.Equal(t, wantScan, gotScan)
}

func TestAddAndGetAllocateNothing(t *testing.T) {
	m := New(keys.Bytewise, 64<<20)
	key, value := make([]byte, 16), make([]byte, 100)
	seq := keys.SeqNum(0)
	allocs := testing.AllocsPerRun(10000, func() {
		seq++
		binary.BigEndian.PutUint64(key, uint64(seq)*0x9e3779b97f4a7c15)
		if err := m.Add(seq, keys.KindSet, key, value); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs, "Add")
	allocs = testing.AllocsPerRun(10000, func() {
		binary.BigEndian.PutUint64(key, uint64(seq)*0x9e3779b97f4a7c15)
		seq--
		if _, res := m.Get(key, keys.MaxSeqNum); res != Found {
			t.Fatal("missing key")
		}
	})
	require.Zero(t, allocs, "Get")
}

// TestRaceWriterAndReaders: one writer adds versions of a few keys while readers call Get at the
// sequence the writer has published; a reader must always see exactly the latest published value.
func TestRaceWriterAndReaders(t *testing.T) {
	m := New(keys.Bytewise, 8<<20)
	var published atomic.Uint64
	const n = 20000
	var wg sync.WaitGroup
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				seq := keys.SeqNum(published.Load())
				if seq == 0 {
					continue
				}
				k := []byte(fmt.Sprintf("k%d", seq%10))
				// The newest version of key seq%10 at or below seq was written at seq itself.
				v, res := m.Get(k, seq)
				if res != Found || string(v) != fmt.Sprint(seq) {
					t.Errorf("Get(%s, %d) = %q, %v", k, seq, v, res)
					return
				}
				if seq == n {
					return
				}
			}
		}()
	}
	for seq := keys.SeqNum(1); seq <= n; seq++ {
		if err := m.Add(seq, keys.KindSet, []byte(fmt.Sprintf("k%d", seq%10)), []byte(fmt.Sprint(seq))); err != nil {
			t.Fatal(err)
		}
		published.Store(uint64(seq))
	}
	wg.Wait()
}

// The memtable iterator is an internal iterator, so the DB can merge it with tables.
var _ iterator.Iterator = (*Iterator)(nil)

func TestAvailable(t *testing.T) {
	m := New(keys.Bytewise, 1<<16)
	before := m.Available()
	require.Equal(t, m.Capacity()-m.ApproximateMemoryUsage(), before)
	require.NoError(t, m.Add(1, keys.KindSet, []byte("key"), make([]byte, 1000)))
	require.LessOrEqual(t, before-m.Available(), EntrySize(3, 1000))
	for m.Available() >= EntrySize(3, 1000) {
		require.NoError(t, m.Add(keys.SeqNum(m.Len()+1), keys.KindSet, []byte("key"), make([]byte, 1000)),
			"an entry no larger than EntrySize must fit in Available bytes")
	}
}

// A table whose arena lives outside the Go heap (NewOffHeap) holds, reads, resets and fills
// again like New's, for both orders; Free gives the memory back (a second Free does nothing),
// and Free on New's table does nothing.
func TestOffHeap(t *testing.T) {
	for _, cmp := range []keys.Comparator{keys.Bytewise, reverseBytes{}} {
		m := NewOffHeap(cmp, 1<<20)
		for round := range 2 {
			n := 0
			for i := 0; ; i++ {
				err := m.Add(keys.SeqNum(i+1), keys.KindSet, fmt.Appendf(nil, "key%06d", i), bytes.Repeat([]byte{byte(i)}, 100))
				if err == ErrFull {
					break
				}
				require.NoError(t, err)
				n++
			}
			require.Greater(t, n, 5000, "round %d", round)
			for i := range n {
				v, res := m.Get(fmt.Appendf(nil, "key%06d", i), keys.MaxSeqNum)
				require.Equal(t, Found, res)
				require.Equal(t, bytes.Repeat([]byte{byte(i)}, 100), v)
			}
			m.Reset()
		}
		m.Free()
		m.Free()
	}
	h := New(keys.Bytewise, 1<<12)
	require.NoError(t, h.Add(1, keys.KindSet, []byte("k"), []byte("v")))
	h.Free()
	v, res := h.Get([]byte("k"), 1)
	require.Equal(t, Found, res, "New's table is the garbage collector's to free")
	require.Equal(t, "v", string(v))
}

// reverseBytes orders keys backwards.
type reverseBytes struct{}

func (reverseBytes) Compare(a, b []byte) int           { return bytes.Compare(b, a) }
func (reverseBytes) Name() string                      { return "test.reverse" }
func (reverseBytes) Separator(dst, a, _ []byte) []byte { return append(dst, a...) }
func (reverseBytes) Successor(dst, a []byte) []byte    { return append(dst, a...) }
