// Package testseed gives randomized tests their seed: the value of the -seed flag, which this
// package registers (so a test package that imports it must not define its own), or else one
// from the clock. Seed logs the seed with the command that replays the test.
package testseed

import (
	"flag"
	"testing"
	"time"
)

var seedFlag = flag.Uint64("seed", 0, "seed for the randomized tests (0 = from the clock); failures print theirs")

// Seed returns the seed for t's randomness and logs how to replay t with it.
func Seed(t testing.TB) uint64 {
	t.Helper()
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay: go test -run '%s' -seed=%d)", seed, t.Name(), seed)
	return seed
}
