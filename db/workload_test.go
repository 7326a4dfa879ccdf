package db

// The shapes of the workloads the db tests write (internal/testutil/workload generates them):
//
//   - relShape, the reliability workload (the process-kill, power-loss, fault-injection,
//     corruption and hygiene tests): puts (45%) with values of 0 B to 64 KiB (one in twenty
//     empty, most under 200 B, one in ten between 4 KiB and 64 KiB, half of them random bytes);
//     deletes (20%) of keys that may or may not be there; batches (35%) of 1 to 99 puts and
//     deletes, skewed small, each ending with a put of its own marker key; one write in ten
//     synced; 1,000 keys and the empty key.
//   - crashShape, TestCrashRecovery's: 150 keys, so nearly every write overwrites or deletes;
//     values under 600 B and one in twenty of 4 to 20 KiB (a record across log blocks); one
//     write in five synced, and one in twenty an empty synced batch.
//   - fillShape and churnShape, the compaction crash and fault tests': a fill of puts of values
//     of 60 to 870 B, then single writes and batches of 2 to 11, half of their entries deletes,
//     so that after a CompactRange of the fill the churn shadows values in deeper levels.
//
// The randomized models' shapes (modelShape, compactionShape) are in model_test.go.

import "github.com/stratadb/strata/internal/testutil/workload"

// relOpts are the options of the reliability workloads: the smallest write buffer (64 KiB) and
// table size (1 MiB), so that a few hundred writes rotate logs, flush and compact.
func relOpts() *Options {
	return &Options{WriteBufferSize: 64 << 10, MaxFileSize: 1 << 20, BlockSize: 1 << 10}
}

// relKeys is the size of relShape's key space: small enough that keys are overwritten and
// deleted often, large enough that tables cover different ranges.
const relKeys = 1000

var relShape = workload.Shape{
	Keys: relKeys, KeyFormat: "k%04d", EmptyKey: 100,
	Values:       []workload.Band{{Weight: 1}, {Weight: 11, Max: 199}, {Weight: 6, Min: 200, Max: 4<<10 - 1}, {Weight: 2, Min: 4 << 10, Max: 64 << 10}},
	RandomValues: true,
	Put:          9, Delete: 4, Batch: 7,
	BatchMin: 1, BatchMax: 99, BatchSkew: true, BatchDeletes: 4, Markers: true,
	SyncEvery: 10,
}

// relGen returns a generator of the reliability workload.
func relGen(seed uint64, tag string) *workload.Gen { return workload.New(seed, tag, relShape) }

var crashShape = workload.Shape{
	Keys: 150, KeyFormat: "k%03d", EmptyKey: 50,
	Values: []workload.Band{{Weight: 19, Max: 599}, {Weight: 1, Min: 4 << 10, Max: 20 << 10}},
	Put:    10, Delete: 3, Batch: 6, Sync: 1,
	BatchMin: 2, BatchMax: 13, BatchDeletes: 4, Markers: true,
	SyncEvery: 5,
}

// fillShape and churnShape are for a key space of 2*n keys, with n the fill's writes.
func fillShape(n int) workload.Shape {
	return workload.Shape{Keys: 2 * n, KeyFormat: "k%05d", Values: []workload.Band{{Weight: 1, Min: 60, Max: 870}}, Put: 1}
}

func churnShape(n int) workload.Shape {
	s := fillShape(n)
	s.Put, s.Delete, s.Batch = 3, 3, 2
	s.BatchMin, s.BatchMax, s.BatchDeletes = 2, 11, 2
	return s
}

// fillAndChurn returns the writes of the compaction crash and fault tests: n puts, then about n
// entries of overwrites and deletes.
func fillAndChurn(seed uint64, n int) (g *workload.Gen, fill, churn []workload.Op) {
	g = workload.New(seed, "c", fillShape(n))
	fill = g.Take(n)
	g.Shape = churnShape(n)
	churn = g.Take(n * 2 / 5)
	return g, fill, churn
}
