// Command compare runs leveldb db_bench's workloads on Strata, goleveldb, pebble, badger, bbolt,
// SQLite and (built with -tags cleveldb,crocksdb) C++ leveldb 1.23 and RocksDB 7.8, with
// identical settings, and reports the median micros/op of each engine on each workload and its
// ratio to Strata's (an engine without transactions shows "n/a" for txnrandom). Badger, bbolt
// and SQLite run only when --engines names them:
//
//	cd bench && go run -tags cleveldb ./cmd/compare --out ../docs/benchmarks.md
//
// Each engine runs the whole sequence of workloads (see workload.Plan) in a fresh directory and
// a process of its own; the engines take turns within each round, the first engine of a round
// rotating from round to round, over --rounds rounds. Between two runs the parent syncs dirty
// pages to disk, so no engine pays for another's writeback. With --out it rewrites its section
// of the Markdown file (the "full" section at --num 1000000 and above, the "smoke" one below)
// with the table, the machine and the command, and draws the chart as SVG beside the file.
package main

import (
	"flag"
	"fmt"

	"github.com/stratadb/strata/bench/internal/child"
	"github.com/stratadb/strata/bench/internal/report"
	"github.com/stratadb/strata/bench/internal/workload"
)

type config struct {
	child.Flags
	num, reads       int
	valueSize        int
	compressionRatio float64
	workloads        string
	rounds           int
	chart            string
	specs            []workload.Spec
}

func parseFlags(args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.IntVar(&c.num, "num", 1_000_000, "number of keys (db_bench's --num)")
	fs.IntVar(&c.reads, "reads", -1, "read operations per read workload (negative: --num)")
	fs.IntVar(&c.valueSize, "value_size", 100, "bytes per value")
	fs.Float64Var(&c.compressionRatio, "compression_ratio", 0.5, "fraction of each value snappy keeps")
	fs.StringVar(&c.workloads, "workloads", workload.DefaultList,
		"comma-separated workloads in order; NAME/threads=N runs NAME in N goroutines")
	fs.IntVar(&c.rounds, "rounds", 3, "rounds; each runs every engine once, interleaved")
	fs.StringVar(&c.chart, "chart", "", "SVG chart to write (default, beside --out: benchmarks.svg for the full section, benchmarks-SECTION.svg for the others)")
	c.Register(fs, "directory under which each run gets a fresh directory",
		"write every round's results, the machine and the settings to this JSON file",
		"run one engine's sequence and print JSON lines")
	if err := c.Parse(fs, args); err != nil {
		return nil, err
	}
	if c.num < 1000 {
		return nil, fmt.Errorf("--num must be at least 1000 (fillsync and fill100K write --num/1000 entries)")
	}
	if c.reads < 0 {
		c.reads = c.num
	}
	if c.rounds < 1 {
		return nil, fmt.Errorf("--rounds must be at least 1")
	}
	var err error
	if c.specs, err = workload.ParseSpecs(c.workloads); err != nil {
		return nil, err
	}
	if c.Section, err = report.ResolveSection(c.Section, c.num, "alternatives"); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *config) workloadConfig() workload.Config {
	return workload.Config{Num: c.num, Reads: c.reads, ValueSize: c.valueSize, CompressionRatio: c.compressionRatio}
}

func main() {
	child.Main("compare", func(args []string) (child.Command, error) {
		c, err := parseFlags(args)
		return c, err
	})
}
