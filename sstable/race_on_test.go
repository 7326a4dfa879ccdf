//go:build race

package sstable

// raceEnabled is true when the race detector is on; slow exhaustive tests thin themselves out.
const raceEnabled = true
