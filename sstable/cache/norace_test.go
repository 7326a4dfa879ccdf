//go:build !race

package cache

// raceEnabled is true when the race detector is on; allocation tests skip themselves and
// randomized tests run fewer steps.
const raceEnabled = false
