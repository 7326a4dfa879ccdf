package iterator_test

import (
	"flag"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/iterator"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/testutil/iterutil"
)

var itersFlag = flag.Int("iters", 0, "rounds of each randomized test (0 = its default)")

func iters(def int) int {
	if *itersFlag > 0 {
		return *itersFlag
	}
	if testing.Short() {
		return max(def/10, 1)
	}
	return def
}

var icmp = keys.NewInternalComparator(keys.Bytewise)

// parseEntries reads internal entries written as `key#seq,KIND` or `key#seq,SET=value`,
// separated by spaces, and returns them sorted in internal-key order.
func parseEntries(t testing.TB, s string) []iterutil.Entry {
	t.Helper()
	var out []iterutil.Entry
	for _, f := range strings.Fields(s) {
		k, v, _ := strings.Cut(f, "=")
		pk, err := keys.ParseDebug(k)
		require.NoError(t, err)
		out = append(out, iterutil.Entry{Key: pk.Encode(nil), Value: []byte(v)})
	}
	slices.SortStableFunc(out, func(a, b iterutil.Entry) int { return icmp.Compare(a.Key, b.Key) })
	return out
}

// requireStepsAllocFree requires that Next, Prev and a random mix of the two (seeded with seed;
// a step off either end seeks to seek) allocate nothing on it, over runs calls each.
func requireStepsAllocFree(t *testing.T, it iterator.Iterator, runs int, seed uint64, seek []byte) {
	t.Helper()
	it.First()
	require.Zero(t, testing.AllocsPerRun(runs, func() {
		if !it.Next() {
			it.First()
		}
	}), "Next")
	it.Last()
	require.Zero(t, testing.AllocsPerRun(runs, func() {
		if !it.Prev() {
			it.Last()
		}
	}), "Prev")
	rng := rand.New(rand.NewPCG(seed, seed))
	require.Zero(t, testing.AllocsPerRun(runs, func() {
		var ok bool
		if rng.IntN(2) == 0 {
			ok = it.Next()
		} else {
			ok = it.Prev()
		}
		if !ok {
			it.SeekGE(seek)
		}
	}), "Next and Prev mixed")
}
