package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stratadb/strata/bench/internal/engine"
)

// An adapter is how one engine does the two jobs, with its best public API for each. Every name
// is a key with an empty value, in bytewise order.
type adapter struct {
	name string
	// load opens a new DB in dir for the load phase, sized by p.
	load func(dir string, p memPlan) (loader, error)
	// loadChunk, when set, is the bytes of the tool's chunk in the load (default p.LoadChunk):
	// a loader that sorts in buffers of its own needs no more than a read buffer.
	loadChunk func(p memPlan) int64
	// verifyChunk, when set, is the bytes of the tool's chunk in the verify (default
	// p.VerifyChunk): an engine that reads past its block cache gives the cache's share to
	// the lookup batch.
	verifyChunk func(p memPlan) int64
	// verifySlices, when set, has the verify's chunks index their names as slices (for an
	// engine whose batched lookup takes them so).
	verifySlices bool
	// verify reopens the DB in dir for the verify phase, sized by p.
	verify func(dir string, p memPlan) (checker, error)
	// memory says what the engine does with the budget, for the report.
	memory func(p memPlan) string
	// outsideGo, when set, is what the engine allocates outside the Go heap (C++, manual
	// allocations) in the load and in the verify; in each phase the Go heap's limit is the
	// budget less it.
	outsideGo func(p memPlan) (load, verify int64)
}

// A loader builds a DB from the input, a chunk at a time.
type loader interface {
	// add puts every name of c into the DB, in whatever order the engine prefers (c.Sort, if
	// it sorts), and calls done(k) as it goes, k names at a time, for the progress line. c's
	// memory is reused once add returns.
	add(c *chunk, done func(k int)) error
	// finish makes every name added durable (a synced write, an ingestion, or a flush) and
	// closes the DB.
	finish() error
}

// A checker looks names up in a DB it opened.
type checker interface {
	// check looks up every name of c, a chunk of the input in the file's order (the engine may
	// sort it: a batched lookup would), calls missing(name) for each name not found, and
	// done(k) as it goes.
	check(c *chunk, missing func(name []byte), done func(k int)) error
	close() error
}

// adapters holds the engines this binary has, by name; cleveldb.go adds C++ leveldb under the
// cleveldb build tag.
var adapters = map[string]*adapter{}

// adapterOrder is the order engines are run and listed in.
var adapterOrder = []string{"strata", "pebble", "goleveldb", "cleveldb"}

// adapterNames returns the names of the engines this binary has, in adapterOrder.
func adapterNames() []string {
	var out []string
	for _, n := range adapterOrder {
		if adapters[n] != nil {
			out = append(out, n)
		}
	}
	return out
}

// parseEngines turns a comma-separated list into adapters, in the order given; "" or "all"
// means every engine this binary has.
func parseEngines(list string) ([]*adapter, error) {
	if list == "" || list == "all" {
		list = strings.Join(adapterNames(), ",")
	}
	var out []*adapter
	var seen []string
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if n == "" || slices.Contains(seen, n) {
			continue
		}
		a := adapters[n]
		if a == nil {
			hint := ""
			if n == "cleveldb" {
				hint = " (build with -tags cleveldb)"
			}
			return nil, fmt.Errorf("unknown engine %q%s; this binary has %s", n, hint, strings.Join(adapterNames(), ", "))
		}
		seen = append(seen, n)
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no engines in %q", list)
	}
	return out, nil
}

// title is the engine's name and version as bench's engine package reports them ("pebble
// v2.1.7"), or its bare name.
func (a *adapter) title() string {
	if e, err := engine.Lookup(a.name); err == nil {
		return e.Title + " " + e.Version
	}
	return a.name
}

// memPlan divides the memory budget between the tool and the engine, for each phase. Each
// engine maps its shares onto the options it has (adapter.memory says how); what no option
// bounds (table readers' index and filter blocks, compaction buffers, the Go collector's slack)
// lives in what the shares leave:
//
//	load:   chunk B/2 (the tool's sort buffer), memtables B/4, block cache B/16; 3B/16 left
//	verify: chunk B/8 (the lookup batch), block cache B/2; 3B/8 left
//
// The load's chunk is large because the loaders without a bulk path get sorted runs from it,
// and the fewer the runs the less their engine compacts; the verify keeps more for the engine,
// whose filters alone take 10 bits a name (125 MB at 100,000,000 names) outside some engines'
// block caches.
type memPlan struct {
	Budget      int64 `json:"budget"`
	LoadChunk   int64 `json:"load_chunk"`
	Memtables   int64 `json:"memtables"`
	LoadCache   int64 `json:"load_cache"`
	VerifyChunk int64 `json:"verify_chunk"`
	VerifyCache int64 `json:"verify_cache"`
}

// minBudget is the smallest --memory: below it the shares fall under the engines' defaults.
const minBudget = 16 << 20

func newMemPlan(budget int64) memPlan {
	return memPlan{
		Budget:      budget,
		LoadChunk:   budget / 2,
		Memtables:   budget / 4,
		LoadCache:   budget / 16,
		VerifyChunk: budget / 8,
		VerifyCache: budget / 2,
	}
}

// mib formats a byte count in MiB.
func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// batchTarget returns the encoded bytes at which a loader that writes batches ends one: at
// least 1 MiB, at most target, never more than a quarter of the write buffer.
func batchTarget(writeBuffer int64, target int64) int {
	return int(max(min(writeBuffer/4, target), 1<<20))
}
