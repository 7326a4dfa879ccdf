package memtable

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/skiplist"
)

// getBySearch answers Get through the skiplist alone, as the memtable does without an index.
func getBySearch(m *MemTable, key []byte, seq keys.SeqNum) ([]byte, Result) {
	var it skiplist.Iterator
	it.Init(m.list)
	if !it.SeekGE(key, keys.Trailer(seq, keys.KindMax)) || string(it.Key()) != string(key) {
		return nil, Absent
	}
	if _, kind := keys.SplitTrailer(it.Tag()); kind == keys.KindDelete {
		return nil, Deleted
	}
	return it.Value(), Found
}

// TestHashIndexAgreesWithSearch fills a table with small entries, so the index grows several
// times, with several versions per key and deletions, and checks that Get through the index
// answers exactly as a search through the list does, at every sequence number of interest.
func TestHashIndexAgreesWithSearch(t *testing.T) {
	for _, offHeap := range []bool{false, true} {
		t.Run(fmt.Sprintf("offheap=%v", offHeap), func(t *testing.T) { testHashIndexAgreesWithSearch(t, offHeap) })
	}
}

func testHashIndexAgreesWithSearch(t *testing.T, offHeap bool) {
	newTable := New
	if offHeap {
		newTable = NewOffHeap
	}
	m := newTable(keys.Bytewise, 1<<20)
	startSlots := len(m.index.tab.Load().slots)
	require.Equal(t, (1<<20)/typicalEntryArena, startSlots)
	require.Equal(t, 1<<20+8*startSlots, m.MemoryBytes())
	require.Equal(t, m.MemoryBytes(), StartingMemory(keys.Bytewise, 1<<20))
	seq := keys.SeqNum(0)
	var n int
	for ; ; n++ {
		k := binary.BigEndian.AppendUint32(nil, uint32(n%14000)) // 4-byte keys, some with several versions
		kind := keys.KindSet
		if n%7 == 0 {
			kind = keys.KindDelete
		}
		seq++
		if err := m.Add(seq, kind, k, []byte(fmt.Sprint(n))); err != nil {
			require.ErrorIs(t, err, ErrFull)
			break
		}
	}
	require.Greater(t, n, 15000, "keys have several versions")
	grown := len(m.index.tab.Load().slots)
	require.Greater(t, grown, 2*startSlots, "the index grew more than once")
	require.Equal(t, 1<<20+8*(grown+grown/2+grown/4), m.MemoryBytes(), "the retired tables count until a reset")
	for k := 0; k < 14001; k++ {
		key := binary.BigEndian.AppendUint32(nil, uint32(k))
		for _, s := range []keys.SeqNum{0, 1, seq / 3, seq / 2, seq - 5, seq, keys.MaxSeqNum} {
			v1, r1 := m.Get(key, s)
			v2, r2 := getBySearch(m, key, s)
			require.Equal(t, r2, r1, "key %d at %d", k, s)
			require.Equal(t, string(v2), string(v1), "key %d at %d", k, s)
		}
	}
	m.Reset()
	require.Equal(t, StartingMemory(keys.Bytewise, 1<<20), m.MemoryBytes(), "a reset table starts over")
	_, r := m.Get(binary.BigEndian.AppendUint32(nil, 1), keys.MaxSeqNum)
	require.Equal(t, Absent, r)
	m.Free()

	// Keys sharing a long prefix differ only past the 16 bytes a node caches.
	m = newTable(keys.Bytewise, 1<<20)
	defer m.Free()
	long := func(i int) []byte { return fmt.Appendf(nil, "a-long-shared-prefix-%06d", i) }
	for i := 0; i < 1000; i++ {
		require.NoError(t, m.Add(keys.SeqNum(i+1), keys.KindSet, long(i), []byte(fmt.Sprint(i))))
	}
	for i := 0; i < 1000; i++ {
		v, r := m.Get(long(i), keys.MaxSeqNum)
		require.Equal(t, Found, r)
		require.Equal(t, fmt.Sprint(i), string(v))
	}
	_, r = m.Get(long(1000), keys.MaxSeqNum)
	require.Equal(t, Absent, r)
}
