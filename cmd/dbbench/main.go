// Command dbbench measures Strata with leveldb's db_bench workloads and prints db_bench's lines,
// so its numbers compare directly with C++ leveldb's:
//
//	fillseq      :       1.765 micros/op;   62.7 MB/s
//
// With no flags it runs the default suite on a fresh temporary directory, removed afterwards.
// Flags keep db_bench's names and defaults (--benchmarks, --num, --reads, --value_size,
// --compression_ratio, --threads, --histogram, --use_existing_db, --db, --write_buffer_size,
// --cache_size, --bloom_bits, --open_files, --block_size, --max_file_size, --compression); it
// adds --format=json (one object per benchmark), --cpuprofile, --version, and a progress line
// on stderr when stderr is a terminal.
//
// Besides db_bench's benchmarks it has two of its own, for transactions. txnrandom runs --num
// transactions (db.DB.Update), each reading two random keys, found or not, and writing both
// with new values, unsynced; a transaction that conflicts runs again, and its line counts the
// conflicts: "(3 conflicts)". batch2random, its baseline, writes the same keys and values as
// --num plain batches of two puts. Both run on the DB a fill left, like readrandom, with
// --threads goroutines.
//
// --use_existing_db runs the benchmarks on the DB already in --db; dbbench refuses to start when
// --db is not given or holds no DB, rather than create an empty one and report nothing found.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"

	"github.com/stratadb/strata/internal/buildinfo"
)

const defaultBenchmarks = "fillseq,fillsync,fillrandom,overwrite,readrandom,readrandom,readseq,readreverse," +
	"compact,readrandom,readseq,readreverse,fill100K,crc32c,snappycomp,snappyuncomp"

// config holds the flags.
type config struct {
	benchmarks       string
	num, reads       int
	valueSize        int
	compressionRatio float64
	threads          int
	histogram        bool
	useExisting      bool
	db               string
	writeBufferSize  int
	cacheSize        int
	bloomBits        int
	openFiles        int
	blockSize        int
	maxFileSize      int
	compression      bool
	format           string
	cpuprofile       string
	version          bool
}

func parseFlags(args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("dbbench", flag.ContinueOnError)
	fs.StringVar(&c.benchmarks, "benchmarks", defaultBenchmarks, "comma-separated list of benchmarks to run, in order")
	fs.IntVar(&c.num, "num", 1000000, "number of key/values to place in the database")
	fs.IntVar(&c.reads, "reads", -1, "number of read operations (negative: --num)")
	fs.IntVar(&c.valueSize, "value_size", 100, "size of each value")
	fs.Float64Var(&c.compressionRatio, "compression_ratio", 0.5, "fraction of each value snappy keeps")
	fs.IntVar(&c.threads, "threads", 1, "number of concurrent goroutines per benchmark")
	fs.BoolVar(&c.histogram, "histogram", false, "print latency percentiles per benchmark")
	fs.BoolVar(&c.useExisting, "use_existing_db", false, "use the DB in --db as it is instead of starting fresh")
	fs.StringVar(&c.db, "db", "", "DB directory (default: a fresh temporary directory, removed afterwards)")
	fs.IntVar(&c.writeBufferSize, "write_buffer_size", 0, "memtable size in bytes (0: Strata's default, 4 MiB)")
	fs.IntVar(&c.cacheSize, "cache_size", -1, "block cache bytes (negative: default, 8 MiB)")
	fs.IntVar(&c.bloomBits, "bloom_bits", -1, "bloom filter bits per key (negative: no filter, as db_bench)")
	fs.IntVar(&c.openFiles, "open_files", 0, "maximum open files (0: default, 1000)")
	fs.IntVar(&c.blockSize, "block_size", 0, "table block size (0: default, 4 KiB)")
	fs.IntVar(&c.maxFileSize, "max_file_size", 0, "table file size (0: default, 2 MiB)")
	fs.BoolVar(&c.compression, "compression", true, "compress blocks with snappy")
	fs.StringVar(&c.format, "format", "text", "output format: text (db_bench's lines) or json (one object per line)")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of the benchmarks to this file")
	fs.BoolVar(&c.version, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if c.version {
		return c, nil
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if c.reads < 0 {
		c.reads = c.num
	}
	if c.threads < 1 {
		return nil, fmt.Errorf("--threads must be at least 1")
	}
	if c.format != "text" && c.format != "json" {
		return nil, fmt.Errorf("--format must be text or json")
	}
	if c.num < 1 || c.valueSize < 0 {
		return nil, fmt.Errorf("--num must be positive and --value_size not negative")
	}
	if c.useExisting {
		if err := checkExistingDB(c.db); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// checkExistingDB checks that --use_existing_db has a DB to use: --db names a directory that
// holds CURRENT. Opening a missing DB would create an empty one, and every read would miss.
func checkExistingDB(dir string) error {
	if dir == "" {
		return errors.New("--use_existing_db needs --db: without it the benchmarks run on a fresh temporary directory")
	}
	_, err := os.Stat(filepath.Join(dir, "CURRENT"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, derr := os.Stat(dir); errors.Is(derr, fs.ErrNotExist) {
			return fmt.Errorf("--use_existing_db: %s does not exist (run once without --use_existing_db to create the DB)", dir)
		}
		return fmt.Errorf("--use_existing_db: %s holds no DB: it has no CURRENT file (run once without --use_existing_db to create the DB)", dir)
	case err != nil:
		return fmt.Errorf("--use_existing_db: %w", err)
	}
	return nil
}

func main() { os.Exit(command(os.Args[1:], os.Stdout, os.Stderr)) }

// command is dbbench run with args (without the program name); it returns the exit status: 0
// for success (and --help, --version), 1 when a benchmark fails, 2 for bad flags.
func command(args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args)
	if err == flag.ErrHelp {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "dbbench:", err)
		return 2
	}
	if c.version {
		fmt.Fprintln(stdout, buildinfo.Line("dbbench"))
		return 0
	}
	if c.cpuprofile != "" {
		f, err := os.Create(c.cpuprofile)
		if err != nil {
			fmt.Fprintln(stderr, "dbbench:", err)
			return 2
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			fmt.Fprintln(stderr, "dbbench:", err)
			return 2
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	if err := run(c, stdout); err != nil {
		fmt.Fprintln(stderr, "dbbench:", err)
		return 1
	}
	return 0
}
