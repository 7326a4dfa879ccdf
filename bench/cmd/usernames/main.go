package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/stratadb/strata/bench/internal/child"
)

type config struct {
	n       int64
	engines string
	dir     string
	memory  string
	seed    uint64
	json    string

	budget int64
	set    []*adapter

	// The child mode: one engine's run, its report on stdout as one JSON line.
	child    bool
	engine   string
	childDir string
}

func parseFlags(args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("usernames", flag.ContinueOnError)
	fs.Int64Var(&c.n, "n", 100_000_000, "number of usernames")
	fs.StringVar(&c.engines, "engines", "all", "comma-separated engines: "+strings.Join(adapterNames(), ","))
	fs.StringVar(&c.dir, "dir", os.TempDir(), "work directory: the input file (kept, and reused by later runs) and each engine's DB (removed after its run)")
	fs.StringVar(&c.memory, "memory", "1.2GiB", "memory budget of each engine's process, tool and engine: a byte count, or a number with KiB, MiB, GiB (or KB, MB, GB)")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the names")
	fs.StringVar(&c.json, "json", "", "write one JSON object per engine to this file")
	fs.BoolVar(&c.child, "child", false, "internal: load and verify one engine in this process")
	fs.StringVar(&c.engine, "engine", "", "internal: the engine of a -child run")
	fs.StringVar(&c.childDir, "child_dir", "", "internal: the DB directory of a -child run")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if c.n < 1 || c.n > maxN {
		return nil, fmt.Errorf("--n must be in [1, %d]", int64(maxN))
	}
	var err error
	if c.budget, err = parseBytes(c.memory); err != nil {
		return nil, fmt.Errorf("--memory: %w", err)
	}
	if c.budget < minBudget {
		return nil, fmt.Errorf("--memory must be at least %s", mib(minBudget))
	}
	list := c.engines
	if c.child {
		if c.childDir == "" {
			return nil, fmt.Errorf("-child needs -child_dir")
		}
		list = c.engine
	}
	if c.set, err = parseEngines(list); err != nil {
		return nil, err
	}
	return c, nil
}

// parseBytes reads "1288490188", "1.2GiB", "512 MiB", "2GB".
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   float64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1},
	}
	mult := 1.0
	for _, u := range units {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || v*mult > math.MaxInt64/2 {
		return 0, fmt.Errorf("not a byte count: %q", s)
	}
	return int64(v * mult), nil
}

// IsChild reports whether this process is one engine's run.
func (c *config) IsChild() bool { return c.child }

// RunChild loads and verifies the engine of -engine in -child_dir and prints its report as one
// JSON line; the progress lines go to stderr.
func (c *config) RunChild() error {
	g, err := newGenerator(c.n, c.seed)
	if err != nil {
		return err
	}
	j := &job{
		a:      c.set[0],
		dir:    c.childDir,
		input:  inputPath(c.dir, c.n, c.seed),
		n:      c.n,
		absent: g.absent(),
		plan:   newMemPlan(c.budget),
		log:    os.Stderr,
	}
	rep, err := j.run()
	if err != nil {
		return err
	}
	return child.Emit(rep)
}

// childArgs are the arguments of engine a's child run in dbDir.
func (c *config) childArgs(a *adapter, dbDir string) []string {
	return []string{
		"-child", "-engine", a.name, "-child_dir", dbDir,
		"-n", strconv.FormatInt(c.n, 10), "-seed", strconv.FormatUint(c.seed, 10),
		"-dir", c.dir, "-memory", strconv.FormatInt(c.budget, 10),
	}
}

func main() {
	child.Main("usernames", func(args []string) (child.Command, error) {
		c, err := parseFlags(args)
		return c, err
	})
}
