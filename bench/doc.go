// Package bench compares Strata with other engines on identical workloads, in one run.
//
// It is its own Go module so that the library's go.mod does not depend on the engines it is
// compared with. The benchmarks in this directory compare parts (memtables, tables) with
// goleveldb's as sub-benchmarks named engine=NAME, so `go test -bench . -benchmem` here prints
// the figures side by side. Whole engines are compared by two commands, which write
// docs/benchmarks.md:
//
//   - cmd/compare runs leveldb db_bench's workloads on Strata, goleveldb, pebble, (with
//     -tags cleveldb) C++ leveldb and (with -tags crocksdb) RocksDB, and, when named, badger,
//     bbolt and SQLite, each engine in its own process, over interleaved rounds, and reports
//     each process's peak resident memory;
//   - cmd/amp measures write and space amplification on issue 5's workload;
//   - cmd/usernames runs the 100-million-username challenge (bulk load, then a lookup of every
//     name) within one memory budget.
//
// Invariant: a workload is defined once and handed to every engine through a small adapter
// (internal/engine); no engine gets a workload the others do not.
package bench
