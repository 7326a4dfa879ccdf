package skiplist

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// comparisonsPerInsert inserts n random 16-byte keys into a fresh list, counting calls of the
// compare function, and returns the average per insert. forceHeight > 0 pins every tower to that
// height (1 turns the list into a plain sorted linked list).
func comparisonsPerInsert(n int, forceHeight uint32) float64 {
	var calls int64
	counting := func(a, b []byte) int {
		calls++
		return bytes.Compare(a, b)
	}
	l := New(NewArena(n*EntrySize(16, 0)), counting)
	if forceHeight > 0 {
		l.randH = func() uint32 { return forceHeight }
	}
	rng := rand.New(rand.NewPCG(42, 42))
	key := make([]byte, 16)
	for i := 0; i < n; i++ {
		binary.BigEndian.PutUint64(key, rng.Uint64())
		binary.BigEndian.PutUint64(key[8:], rng.Uint64())
		if err := l.Add(key, 0, nil); err != nil {
			panic(err)
		}
	}
	return float64(calls) / float64(n)
}

// skipsEnough is the acceptance rule: on average at most 3·log2(n) comparisons per insert.
func skipsEnough(n int, perInsert float64) bool {
	return perInsert < 3*math.Log2(float64(n))
}

// TestComparisonsPerInsert checks the list's complexity, not only its answers: a list that never
// skips still returns correct results but needs about n/2 comparisons per insert.
func TestComparisonsPerInsert(t *testing.T) {
	const n = 1_000_000
	got := comparisonsPerInsert(n, 0)
	t.Logf("n=%d: %.1f comparisons per insert (bound %.1f)", n, got, 3*math.Log2(n))
	require.True(t, skipsEnough(n, got), "%.1f comparisons per insert at n=%d", got, n)
}

// TestComparisonCheckCatchesDegenerateList shows the check above can fail: with every tower pinned
// to height 1 the list degenerates to a sorted linked list and the same rule rejects it. A
// smaller n keeps the quadratic run short; the rule is the same.
func TestComparisonCheckCatchesDegenerateList(t *testing.T) {
	const n = 20_000
	flat := comparisonsPerInsert(n, 1)
	t.Logf("height-1 list, n=%d: %.1f comparisons per insert (bound %.1f)", n, flat, 3*math.Log2(n))
	require.False(t, skipsEnough(n, flat))
	require.True(t, skipsEnough(n, comparisonsPerInsert(n, 0)))
}
