//go:build race

package wal

// raceEnabled is true when the race detector is on; slow exhaustive tests thin themselves out.
const raceEnabled = true
