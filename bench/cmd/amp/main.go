// Command amp measures the write and space amplification of Strata, goleveldb, pebble and
// (built with -tags cleveldb) C++ leveldb 1.23 on one workload (issue 5, item 8):
//
//	cd bench && go run -tags cleveldb ./cmd/amp --out ../docs/benchmarks.md
//
// Each engine, in a fresh directory and a process of its own, with the settings every bench/
// comparison uses: fill --num keys (db_bench's 16-byte keys, in a random order) with 100-byte
// values (db_bench's generator: snappy keeps half of each), compact everything, overwrite every
// key twice (each pass in a new random order), compact everything again, close.
//
//   - Write amplification: the bytes the process handed to write(2) from opening the DB to
//     closing it (wchar of /proc/self/io: the WAL, tables, MANIFEST, LOG, everything, counted
//     the same way for Go and C++), plus what an engine wrote through memory mappings, which
//     wchar cannot see (Strata's log: engine.MappedWriter), over the bytes of keys and values
//     put (3 x num x 116).
//   - Space amplification: the bytes of live tables after the second compaction over the bytes
//     after the first; the table bytes themselves are reported too.
//
// With --out it rewrites its section of the Markdown file ("amp-full" at --num 1000000 and
// above, "amp-smoke" below).
package main

import (
	"flag"
	"fmt"

	"github.com/stratadb/strata/bench/internal/child"
	"github.com/stratadb/strata/bench/internal/report"
)

type config struct {
	child.Flags
	num              int
	valueSize        int
	compressionRatio float64
}

func parseFlags(args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("amp", flag.ContinueOnError)
	fs.IntVar(&c.num, "num", 1_000_000, "number of keys")
	fs.IntVar(&c.valueSize, "value_size", 100, "bytes per value")
	fs.Float64Var(&c.compressionRatio, "compression_ratio", 0.5, "fraction of each value snappy keeps")
	c.Register(fs, "directory under which each engine gets a fresh directory",
		"write the results and the machine to this JSON file", "measure one engine and print a JSON line")
	if err := c.Parse(fs, args); err != nil {
		return nil, err
	}
	if c.num < 1 || c.valueSize < 0 {
		return nil, fmt.Errorf("--num must be positive and --value_size not negative")
	}
	var err error
	if c.Section, err = report.ResolveSection(c.Section, c.num); err != nil {
		return nil, err
	}
	return c, nil
}

func main() {
	child.Main("amp", func(args []string) (child.Command, error) {
		c, err := parseFlags(args)
		return c, err
	})
}
