// Package bench compares Strata's parts with other engines' on identical workloads, in one run.
//
// It is its own Go module so that the library's go.mod does not depend on the engines it is
// compared with. Every benchmark here runs the same keys, values and seeds through each engine as
// sub-benchmarks named engine=NAME, so `go test -bench . -benchmem` in this directory prints the
// figures side by side. Invariant: a workload is defined once and handed to every engine through
// a small adapter; no engine gets a workload the others do not.
package bench
