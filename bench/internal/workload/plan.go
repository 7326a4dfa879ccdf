// Package workload runs leveldb db_bench's workloads against any engine.DB, with db_bench's
// meaning, key format, value generator and seeds (the same as Strata's cmd/dbbench), and plans
// the order they run in so that every engine runs exactly the same sequence.
//
// A sequence runs in one process on one directory, as db_bench's default suite does: a fill
// ("fresh" workload) starts from an empty DB; every other workload works on what the workloads
// before it left. A workload that needs a filled DB and would not find one gets a setup step, a
// fillrandom, inserted before it (see Plan). Each goroutine of each step is seeded with 1000
// plus the number of goroutines started before it in the process, setup steps included, as
// db_bench seeds its threads, so the same plan draws the same keys on every engine.
//
// txnrandom needs transactions (engine.Transactor): an engine without them skips it, with a
// Result marked Skipped that reports print as "n/a", and its goroutines are counted all the
// same, so the steps after it still draw the same keys as on the other engines.
package workload

import (
	"fmt"
	"strconv"
	"strings"
)

// DefaultList is the comparison's default sequence. Each read runs on the DB that fillrandom and
// overwrite left, as in db_bench's default suite; deleterandom comes after the reads.
const DefaultList = "fillseq,fillrandom,overwrite,readrandom,readmissing,readseq,readreverse," +
	"seekrandom,deleterandom,fill100K,fillsync,fillsync/threads=8"

// state is what a DB holds between steps, as far as the planner cares.
type state int

const (
	stateOther state = iota // empty, sparse (fillsync, fill100K) or deleted from
	stateFull               // --num keys of --value_size written by a fill, maybe overwritten
)

// kind is how a workload uses and leaves the DB.
type kind struct {
	fresh     bool // destroys the DB and starts empty
	needsFull bool // measures something only on a filled DB
	leaves    state
	keep      bool // leaves the state as it found it (reads, compact)
	single    bool // runs once whatever the threads (compact)
}

var kinds = map[string]kind{
	"fillseq":      {fresh: true, leaves: stateFull},
	"fillrandom":   {fresh: true, leaves: stateFull},
	"fillbatch":    {fresh: true, leaves: stateFull},
	"fillsync":     {fresh: true, leaves: stateOther},
	"fill100K":     {fresh: true, leaves: stateOther},
	"overwrite":    {needsFull: true, leaves: stateFull},
	"readrandom":   {needsFull: true, keep: true},
	"readmissing":  {needsFull: true, keep: true},
	"readhot":      {needsFull: true, keep: true},
	"readseq":      {needsFull: true, keep: true},
	"readreverse":  {needsFull: true, keep: true},
	"seekrandom":   {needsFull: true, keep: true},
	"deleteseq":    {needsFull: true, leaves: stateOther},
	"deleterandom": {needsFull: true, leaves: stateOther},
	"compact":      {keep: true, single: true},
	"txnrandom":    {needsFull: true, leaves: stateFull},
	"batch2random": {needsFull: true, leaves: stateFull},
}

// Names lists the workloads, in the order db_bench documents them, then bench's own:
// txnrandom, --num transactions each reading two random keys and writing both (the engines
// without transactions skip it), and its baseline batch2random, --num batches of two puts of
// the same keys and values.
var Names = []string{"fillseq", "fillrandom", "fillbatch", "fillsync", "fill100K", "overwrite",
	"readrandom", "readmissing", "readhot", "readseq", "readreverse", "seekrandom", "deleteseq",
	"deleterandom", "compact", "txnrandom", "batch2random"}

// Spec is one workload with its number of goroutines, written "fillsync" or
// "fillsync/threads=8".
type Spec struct {
	Name    string
	Threads int
}

func (s Spec) String() string {
	if s.Threads > 1 {
		return fmt.Sprintf("%s/threads=%d", s.Name, s.Threads)
	}
	return s.Name
}

// ParseSpecs parses a comma-separated list of specs.
func ParseSpecs(list string) ([]Spec, error) {
	var out []Spec
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, opt, _ := strings.Cut(f, "/")
		if _, ok := kinds[name]; !ok {
			return nil, fmt.Errorf("unknown workload %q (known: %s)", name, strings.Join(Names, ", "))
		}
		s := Spec{Name: name, Threads: 1}
		if opt != "" {
			v, ok := strings.CutPrefix(opt, "threads=")
			n, err := strconv.Atoi(v)
			if !ok || err != nil || n < 1 {
				return nil, fmt.Errorf("bad workload %q: want NAME or NAME/threads=N", f)
			}
			s.Threads = n
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no workloads in %q", list)
	}
	return out, nil
}

// Step is one step of a plan: a workload, and whether it is a setup step the plan inserted
// (run and timed like the others, but not one of the workloads asked for).
type Step struct {
	Spec
	Setup bool
}

func (s Step) String() string {
	if s.Setup {
		return s.Spec.String() + " (setup)"
	}
	return s.Spec.String()
}

// Plan returns the steps that run specs in order: each spec, preceded by a setup fillrandom
// when it needs a filled DB and the steps before it would not have left one.
func Plan(specs []Spec) []Step {
	var steps []Step
	st := stateOther
	for _, s := range specs {
		k := kinds[s.Name]
		if k.needsFull && st != stateFull {
			steps = append(steps, Step{Spec: Spec{Name: "fillrandom", Threads: 1}, Setup: true})
			st = stateFull
		}
		steps = append(steps, Step{Spec: s})
		if !k.keep {
			st = k.leaves
		}
	}
	return steps
}
