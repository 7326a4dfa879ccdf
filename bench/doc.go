// Package bench compares Strata with other engines on identical workloads, in one run.
//
// It is its own Go module so that the library's go.mod does not depend on the engines it is
// compared with. The benchmarks in this directory compare parts (memtables, tables) with
// goleveldb's as sub-benchmarks named engine=NAME, so `go test -bench . -benchmem` here prints
// the figures side by side. Whole engines are compared by two commands, which write
// docs/benchmarks.md:
//
//   - cmd/compare runs leveldb db_bench's workloads on Strata, goleveldb, pebble and (with
//     -tags cleveldb) C++ leveldb, each engine in its own process, over interleaved rounds;
//   - cmd/amp measures write and space amplification on issue 5's workload.
//
// Invariant: a workload is defined once and handed to every engine through a small adapter
// (internal/engine); no engine gets a workload the others do not.
package bench
