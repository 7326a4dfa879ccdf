package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/stratadb/strata/db"
)

// config holds the flags.
type config struct {
	db          string
	threads     int
	duration    time.Duration
	ops         int64
	keys        int
	valueSize   int
	syncRatio   float64
	seed        uint64
	kill        bool
	killMin     time.Duration
	killMax     time.Duration
	killSpec    string
	format      string
	progress    time.Duration
	version     bool
	child       bool // hidden: this process is a --kill child (kill.go)
	durationSet bool // --duration was given

	// DB options, with db_bench's flag names.
	writeBufferSize int
	maxFileSize     int
	blockSize       int
	cacheSize       int
	bloomBits       int
	openFiles       int
	compression     bool
	paranoidChecks  bool
}

// Defaults that differ from the DB's: a small memtable and small tables, so that a short run
// flushes, compacts and rotates its logs many times. (The DB takes tables of 1 MiB to 1 GiB, as
// leveldb does.)
const (
	defaultWriteBuffer = 256 << 10
	defaultMaxFileSize = 1 << 20
	defaultKillSpec    = "100ms-2s"
	childFlag          = "stress_child"
)

func newFlagSet(c *config) *flag.FlagSet {
	fs := flag.NewFlagSet("dbstress", flag.ContinueOnError)
	fs.StringVar(&c.db, "db", "", "directory of the DB to stress: created if missing; an existing one must be dbstress's (required)")
	fs.IntVar(&c.threads, "threads", 8, "number of goroutines running operations")
	fs.DurationVar(&c.duration, "duration", time.Minute, "how long to run (with --ops alone: no limit)")
	fs.Int64Var(&c.ops, "ops", 0, "stop after this many operations in all (0: no limit)")
	fs.IntVar(&c.keys, "keys", 100000, "size of the key space")
	fs.IntVar(&c.valueSize, "value_size", 100, "average size of a value (sizes vary from half to 1.5 times it, some 8 times)")
	fs.Float64Var(&c.syncRatio, "sync_ratio", 0.01, "fraction of writes made with WriteOptions{Sync: true}")
	fs.Uint64Var(&c.seed, "seed", 0, "seed of the operations and kill times (0: from the clock); failures print theirs")
	fs.BoolVar(&c.kill, "kill", false, "run the operations in a child process, SIGKILL it at random moments, verify the DB after each kill, repeat")
	fs.StringVar(&c.killSpec, "kill_interval", defaultKillSpec, "with --kill, how long a child runs before its kill: MIN-MAX or MAX (after its Open; one kill in 8 comes within MIN of its start instead)")
	fs.StringVar(&c.format, "format", "text", "output format: text, or json (one object per line)")
	fs.DurationVar(&c.progress, "progress", 5*time.Second, "interval between progress lines (0: none)")
	fs.BoolVar(&c.version, "version", false, "print the version and exit")
	fs.BoolVar(&c.child, childFlag, false, "internal: run as a --kill child")

	fs.IntVar(&c.writeBufferSize, "write_buffer_size", defaultWriteBuffer, "memtable size in bytes (0: Strata's default, 4 MiB)")
	fs.IntVar(&c.maxFileSize, "max_file_size", defaultMaxFileSize, "table file size, 1 MiB to 1 GiB (0: Strata's default, 2 MiB)")
	fs.IntVar(&c.blockSize, "block_size", 0, "table block size (0: default, 4 KiB)")
	fs.IntVar(&c.cacheSize, "cache_size", -1, "block cache bytes (negative: default, 8 MiB)")
	fs.IntVar(&c.bloomBits, "bloom_bits", 10, "bloom filter bits per key (negative: no filter)")
	fs.IntVar(&c.openFiles, "open_files", 0, "maximum open files (0: default, 1000)")
	fs.BoolVar(&c.compression, "compression", true, "compress blocks with snappy")
	fs.BoolVar(&c.paranoidChecks, "paranoid_checks", false, "open the DB with ParanoidChecks")
	return fs
}

// usage prints the flags, all but the hidden one.
func usage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintln(w, "usage: dbstress --db DIR [--threads N] [--duration D | --ops N] [--keys K] [--kill [--kill_interval MIN-MAX]] [flags]")
	fmt.Fprintln(w, "\nRuns verified operations on a Strata DB in DIR (see docs/dbstress.md). Flags:")
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == childFlag {
			return
		}
		name, use := flag.UnquoteUsage(f)
		if name != "" {
			name = " " + name
		}
		fmt.Fprintf(w, "  --%s%s\n    \t%s", f.Name, name, use)
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
	fmt.Fprintln(w, "\nExit status: 0 when every check passed, 1 on a violation or a DB error, 2 for wrong usage or an unusable directory.")
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := newFlagSet(c)
	fs.SetOutput(io.Discard) // errors are one line, printed by command
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			usage(fs, stderr)
		}
		return nil, err
	}
	fs.Visit(func(f *flag.Flag) { c.durationSet = c.durationSet || f.Name == "duration" })
	if c.version {
		return c, nil
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	switch {
	case c.db == "":
		return nil, errors.New("--db is required: the directory to stress (created if missing)")
	case c.threads < 1 || c.threads > 1024:
		return nil, errors.New("--threads must be between 1 and 1024")
	case c.keys < 1 || c.keys > maxKeys:
		return nil, fmt.Errorf("--keys must be between 1 and %d", maxKeys)
	case c.keys < c.threads:
		return nil, fmt.Errorf("--keys (%d) must be at least --threads (%d): each thread owns its own keys", c.keys, c.threads)
	case c.valueSize < 0 || c.valueSize > 1<<20:
		return nil, errors.New("--value_size must be between 0 and 1048576")
	case c.syncRatio < 0 || c.syncRatio > 1:
		return nil, errors.New("--sync_ratio must be between 0 and 1")
	case c.ops < 0:
		return nil, errors.New("--ops must not be negative")
	case c.durationSet && c.duration <= 0:
		return nil, errors.New("--duration must be positive")
	case c.progress < 0:
		return nil, errors.New("--progress must not be negative")
	case c.format != "text" && c.format != "json":
		return nil, errors.New("--format must be text or json")
	case c.maxFileSize != 0 && (c.maxFileSize < 1<<20 || c.maxFileSize > 1<<30):
		return nil, errors.New("--max_file_size must be 0 (the default) or between 1048576 and 1073741824, the DB's limits")
	case c.kill && !killSupported:
		return nil, errors.New("--kill needs a Unix system")
	}
	if c.ops > 0 && !c.durationSet {
		c.duration = 0 // --ops alone: no time limit
	}
	var err error
	if c.killMin, c.killMax, err = parseKillInterval(c.killSpec); err != nil {
		return nil, err
	}
	if c.seed == 0 && !c.child {
		c.seed = uint64(time.Now().UnixNano())
	}
	return c, nil
}

// parseKillInterval parses --kill_interval: "MIN-MAX" or "MAX" (MIN is then a tenth of MAX).
func parseKillInterval(s string) (lo, hi time.Duration, err error) {
	bad := fmt.Errorf("--kill_interval %q: want MIN-MAX or MAX, durations such as 100ms-2s", s)
	a, b, isRange := strings.Cut(s, "-")
	if hi, err = time.ParseDuration(b); !isRange {
		hi, err = time.ParseDuration(a)
		lo = hi / 10
	} else if err == nil {
		lo, err = time.ParseDuration(a)
	}
	if err != nil || lo < 0 || hi <= 0 || lo > hi {
		return 0, 0, bad
	}
	return lo, hi, nil
}

// options returns the DB options the flags ask for.
func (c *config) options() *db.Options {
	o := &db.Options{
		WriteBufferSize: c.writeBufferSize,
		MaxFileSize:     c.maxFileSize,
		BlockSize:       c.blockSize,
		BloomBitsPerKey: c.bloomBits,
		MaxOpenFiles:    c.openFiles,
		ParanoidChecks:  c.paranoidChecks,
		Compression:     db.SnappyCompression,
	}
	if c.cacheSize >= 0 {
		o.BlockCacheSize = max(c.cacheSize, 1) // 0 would mean the default
	}
	if !c.compression {
		o.Compression = db.NoCompression
	}
	return o
}

// args returns the flags that reproduce c with dir as --db: those that differ from their
// defaults, and the seed. The child's flags are args with the hidden flag added.
func (c *config) args(dir string) []string {
	def := &config{}
	newFlagSet(def) // the defaults
	a := []string{"--db", dir}
	add := func(name string, v, d any) {
		if v != d {
			a = append(a, fmt.Sprintf("--%s=%v", name, v))
		}
	}
	add("threads", c.threads, def.threads)
	if c.duration > 0 && (c.ops > 0 || c.duration != time.Minute) {
		a = append(a, "--duration="+c.duration.String())
	}
	add("ops", c.ops, def.ops)
	add("keys", c.keys, def.keys)
	add("value_size", c.valueSize, def.valueSize)
	add("sync_ratio", strconv.FormatFloat(c.syncRatio, 'g', -1, 64), strconv.FormatFloat(def.syncRatio, 'g', -1, 64))
	if c.kill {
		a = append(a, "--kill")
		add("kill_interval", c.killSpec, def.killSpec)
	}
	add("write_buffer_size", c.writeBufferSize, def.writeBufferSize)
	add("max_file_size", c.maxFileSize, def.maxFileSize)
	add("block_size", c.blockSize, def.blockSize)
	add("cache_size", c.cacheSize, def.cacheSize)
	add("bloom_bits", c.bloomBits, def.bloomBits)
	add("open_files", c.openFiles, def.openFiles)
	add("compression", c.compression, def.compression)
	add("paranoid_checks", c.paranoidChecks, def.paranoidChecks)
	return append(a, "--seed="+strconv.FormatUint(c.seed, 10))
}

// reproduce returns the command that runs c again, on a new directory beside dir.
func (c *config) reproduce() string {
	return "dbstress " + strings.Join(c.args(c.db+"-repro"), " ")
}
