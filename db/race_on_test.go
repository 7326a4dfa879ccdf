//go:build race

package db

// raceEnabled is true when the race detector is on. The detector makes every byte a test copies
// cost some twenty times more; the fault-injection sweeps, which copy a DB's files for each
// fault, sample fewer faults under it (all of them run in the plain test run).
const raceEnabled = true
