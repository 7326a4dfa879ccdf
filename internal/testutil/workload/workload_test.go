package workload

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var testShape = Shape{
	Keys: 50, KeyFormat: "k%02d", EmptyKey: 20,
	Values:       []Band{{Weight: 1}, {Weight: 3, Max: 100}, {Weight: 1, Min: 1000, Max: 2000}},
	RandomValues: true,
	Put:          5, Delete: 2, Batch: 3, Sync: 1,
	BatchMin: 1, BatchMax: 9, BatchSkew: true, BatchDeletes: 4, Markers: true,
	SyncEvery: 4,
}

func TestSameSeedSameStream(t *testing.T) {
	a, b := New(7, "t", testShape).Take(300), New(7, "t", testShape).Take(300)
	require.Equal(t, a, b)
	require.NotEqual(t, a, New(8, "t", testShape).Take(300))
}

func TestShape(t *testing.T) {
	g := New(1, "t", testShape)
	ops := g.Take(2000)
	kinds := map[Kind]int{}
	synced, empty, big := 0, 0, 0
	for i, op := range ops {
		kinds[op.Kind]++
		if op.Sync {
			synced++
		}
		for _, e := range op.Entries {
			if e.Key == "" {
				empty++
			}
			if len(e.Value) >= 1000 {
				big++
			}
			if !e.Delete && len(e.Value) > 10 && !strings.HasPrefix(e.Key, MarkerPrefix) {
				require.True(t, strings.HasPrefix(e.Value, "t."+strconv.Itoa(i)+"."), "value %q of write %d names its write", e.Value[:10], i)
			}
		}
		switch op.Kind {
		case Batch:
			last := op.Entries[len(op.Entries)-1]
			require.Equal(t, g.Marker(i), last.Key, "a batch ends with its marker")
			require.LessOrEqual(t, len(op.Entries)-1, 9)
		case Sync:
			require.Empty(t, op.Entries)
			require.True(t, op.Sync)
		default:
			require.Len(t, op.Entries, 1)
		}
	}
	for _, k := range []Kind{Put, Delete, Batch, Sync} {
		require.Positive(t, kinds[k], "no %s", k)
	}
	require.InDelta(t, 2000/4+kinds[Sync]*3/4, synced, 120, "one write in four synced, and every Sync")
	require.Positive(t, empty, "the empty key")
	require.Positive(t, big, "values of the last band")

	g.Shape.MaxValue, g.Shape.MaxBatch = 10, 2
	for _, op := range g.Take(500) {
		for _, e := range op.Entries {
			require.LessOrEqual(t, len(e.Value), 10)
		}
		if op.Kind == Batch {
			require.LessOrEqual(t, len(op.Entries), 3)
		}
	}
}

func TestKeys(t *testing.T) {
	s := Shape{Keys: 1000, KeyFormat: "r%04d", Hot: 100, Put: 1}
	g := New(1, "h", s)
	for range 200 {
		require.Less(t, g.Key(), "r0100", "hot keys are in the first tenth")
	}
	g.Shape = Shape{Keys: 1000, Ascending: 100, Put: 1}
	asc := g.Ascending(5, 20)
	require.Equal(t, "s00000004", asc[4].Entries[0].Key)
	require.Less(t, g.Key(), "s00000005", "ascending keys come from those written")
	g.Shape = Shape{Keys: 10, Reuse: 100, Put: 1}
	first := g.Next().Entries[0].Key
	require.Equal(t, first, g.Key(), "reuse draws from the keys put so far")
	g.Shape = Shape{Keys: 3, KeyFunc: func(i int) string { return "f" + strconv.Itoa(i) }, Put: 1}
	require.Equal(t, "f2", g.KeyAt(2))
}

func TestMatchPrefixAndMarkers(t *testing.T) {
	g := New(3, "m", testShape)
	ops := g.Take(200)
	for _, p := range []int{0, 1, 57, 200} {
		got := Replay(nil, ops[:p])
		q := MatchPrefix(nil, ops, got, max(0, p-10), min(200, p+10))
		require.GreaterOrEqual(t, q, 0)
		require.Equal(t, got, Replay(nil, ops[:q]), "a prefix that gives the same contents")
		n, err := g.CheckMarkers(ops, got, q)
		require.NoError(t, err)
		require.Positive(t, n)
	}
	got := Replay(nil, ops[:100])
	require.Equal(t, -1, MatchPrefix(nil, ops, got, 120, 150), "not a prefix in range")
	got["not written"] = "x"
	require.Equal(t, -1, MatchPrefix(nil, ops, got, 90, 110))
	require.Equal(t, []string{`unexpected "not written"="x"`}, Diff(Replay(nil, ops[:100]), got))

	// A batch whose marker is there but one of its entries is not.
	for i, op := range ops[:100] {
		if op.Kind != Batch || len(op.Entries) < 3 {
			continue
		}
		torn := Replay(nil, ops[:100])
		e := op.Entries[0]
		if Replay(nil, ops[:i+1])[e.Key] != Replay(nil, ops[:100])[e.Key] || e.Delete {
			continue // a later write changed it
		}
		delete(torn, e.Key)
		_, err := g.CheckMarkers(ops, torn, 100)
		require.ErrorContains(t, err, "partly applied")
		return
	}
	t.Fatal("no batch to tear")
}

// TestRandomKeys checks that RandomKeys is a function of its seed and makes 16-byte keys.
func TestRandomKeys(t *testing.T) {
	a, b := RandomKeys(100, 7), RandomKeys(100, 7)
	require.Equal(t, a, b)
	require.NotEqual(t, a, RandomKeys(100, 8))
	for _, k := range a {
		require.Len(t, k, 16)
	}
}
