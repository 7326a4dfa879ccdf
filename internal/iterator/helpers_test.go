package iterator_test

import (
	"flag"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/testutil/iterutil"
)

var (
	seedFlag  = flag.Uint64("seed", 0, "seed for the randomized tests (0 = time-based); failures print theirs")
	itersFlag = flag.Int("iters", 0, "rounds of each randomized test (0 = its default)")
)

// testSeed returns the seed of a randomized test and logs how to replay it.
func testSeed(t testing.TB) uint64 {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay: go test -run '%s' -seed=%d)", seed, t.Name(), seed)
	return seed
}

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
