package db

// The metamorphic test: one random sequence of operations (metamorphic_gen_test.go: writes,
// reads, iterators, snapshots, compactions, reopens, crashes, read-only opens, checkpoints and
// transactions) replayed under several random option sets (metamorphic_options_test.go: block
// size, restart interval, compression, bloom filter, write buffer, table size, open files,
// block cache, paranoid checks, checksum verification on reads), all with one comparator
// (bytewise, or for one sequence in four a reverse order). Each replay (metamorphic_driver_test.go)
// prints one line per operation; every option set must print exactly the lines the model
// (metamorphic_model_test.go) prints.
//
// A failure reports the seed, the first operation whose output differs and what each option set
// printed there, then shrinks the sequence (delta debugging: drop runs of operations, then
// entries of batches, while the first option set that failed still differs from the model at an
// operation of the same kind; for at most -metamorphic-minimize) and writes the full sequence, with every option set, and
// the shrunk one, with the option set that failed, as files of operations
// (metamorphic_ops_test.go) under the system's temporary directory, and prints how to replay
// them:
//
//	go test ./db -run '^TestMetamorphic$' -metamorphic-ops FILE   (or $STRATA_METAMORPHIC_OPS)
//	go test ./db -run '^TestMetamorphic$' -seed N                  (the whole run again)
//
// Sizes: 8 sequences of 2500 operations under 5 option sets each (about 20 seconds on two
// cores); -short 2 of 300 under 3; -long (or $STRATA_LONG=1) 50 of 5000 under 8;
// -metamorphic-duration D runs sequences (at the size of the mode) until D has passed.
//
// TestMetamorphicCases replays the files in testdata/metamorphic: shrunk failures kept as
// regression cases (among them the two bugs the test found in how a transaction's iterator
// recorded the ranges it covered: txn-range-*.ops).

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	metaOpsFlag      = flag.String("metamorphic-ops", "", "replay this file of operations in TestMetamorphic (a failure writes one; or $STRATA_METAMORPHIC_OPS)")
	metaDurationFlag = flag.Duration("metamorphic-duration", 0, "run TestMetamorphic's sequences until this much time has passed")
	metaMinimizeFlag = flag.Duration("metamorphic-minimize", 30*time.Second, "how long a failure of TestMetamorphic may spend shrinking its sequence")
)

func TestMetamorphic(t *testing.T) {
	path := *metaOpsFlag
	if path == "" {
		path = os.Getenv("STRATA_METAMORPHIC_OPS")
	}
	if path != "" {
		runMetaFile(t, path)
		return
	}
	nops, nsets := sized(2500, 300, 5000), sized(5, 3, 8)
	run := func(t *testing.T, seed uint64) {
		rng := newRand(seed ^ 0x6d657461)
		comparator := "bytewise"
		if rng.IntN(4) == 0 {
			comparator = "reverse"
		}
		c := &metaCase{name: fmt.Sprintf("seed %d", seed), seed: seed, header: metaHeader{Comparator: comparator}}
		for range nsets {
			c.header.Options = append(c.header.Options, randMetaOptions(rng))
		}
		cmp, _ := metaComparator(comparator)
		c.ops = genMetaOps(seed, nops, cmp)
		c.check(t)
	}
	if d := *metaDurationFlag; d > 0 && !seedFixed() {
		base, deadline := testSeed(t), time.Now().Add(d)
		for i := uint64(0); time.Now().Before(deadline); i++ {
			seed := base + i
			if !t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { run(t, seed) }) {
				return
			}
		}
		return
	}
	forSeeds(t, sized(8, 2, 50), run)
}

// TestMetamorphicCases replays the files of operations in testdata/metamorphic, sequences that
// once failed, shrunk.
func TestMetamorphicCases(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "metamorphic", "*.ops"))
	if len(files) == 0 {
		t.Fatal("no cases in testdata/metamorphic")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { runMetaFile(t, f) })
	}
}

// TestMetamorphicOpsText requires the text form of generated sequences to parse back to the
// same operations, so that a file replays exactly what failed.
func TestMetamorphicOpsText(t *testing.T) {
	forSeeds(t, 3, func(t *testing.T, seed uint64) {
		ops := genMetaOps(seed, 2000, metaReverse{})
		var b strings.Builder
		h := metaHeader{Comparator: "reverse", Options: []metaOptions{randMetaOptions(newRand(seed))}}
		if err := writeMetaOps(&b, []string{"a comment"}, h, ops); err != nil {
			t.Fatal(err)
		}
		h2, ops2, err := parseMetaOps(strings.NewReader(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(h) != fmt.Sprint(h2) {
			t.Fatalf("header %v parsed back as %v", h, h2)
		}
		if len(ops) != len(ops2) {
			t.Fatalf("%d operations parsed back as %d", len(ops), len(ops2))
		}
		for i := range ops {
			if ops[i].String() != ops2[i].String() || fmt.Sprint(ops[i]) != fmt.Sprint(ops2[i]) {
				t.Fatalf("operation %d: %q parsed back as %q", i, ops[i], ops2[i])
			}
		}
	})
}

// runMetaFile replays a file of operations under the option sets it names (or four drawn from
// the seed when it names none).
func runMetaFile(t *testing.T, path string) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	h, ops, err := parseMetaOps(f)
	f.Close()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c := &metaCase{name: path, header: h, ops: ops}
	if len(h.Options) == 0 {
		c.seed = testSeed(t)
		rng := newRand(c.seed)
		for range 4 {
			c.header.Options = append(c.header.Options, randMetaOptions(rng))
		}
	}
	t.Logf("%s: %d operations, comparator %s, %d option sets", path, len(ops), h.Comparator, len(c.header.Options))
	if testing.Verbose() {
		want := c.replay(ops, -1)
		var b strings.Builder
		for i, op := range ops {
			fmt.Fprintf(&b, "\n  %-40s -> %s", op, metaShort(metaLineAt(want, i), 200))
		}
		t.Logf("the model's output:%s", b.String())
	}
	c.check(t)
}

// metaCase is one sequence and the option sets it runs under.
type metaCase struct {
	name   string // the seed or the file it came from
	seed   uint64
	header metaHeader
	ops    []metaOp
}

// metaRun is the output of one replay: a line per operation and one for the close.
type metaRun struct {
	lines []string
	stats string // what the DB did: flushes, compactions
	panic string // the panic that ended the replay, with its stack
	err   error  // the DB did not open
}

// replay runs ops under option set i, or under the model when i < 0.
func (c *metaCase) replay(ops []metaOp, i int) metaRun {
	cmp, err := metaComparator(c.header.Comparator)
	if err != nil {
		return metaRun{err: err}
	}
	if i < 0 {
		lines, p := replayMeta(newMetaModel(cmp), ops)
		return metaRun{lines: lines, panic: p}
	}
	tgt, err := newMetaDB(c.header.Options[i], cmp)
	if err != nil {
		return metaRun{err: err}
	}
	lines, p := replayMeta(tgt, ops)
	return metaRun{lines: lines, panic: p, stats: tgt.String()}
}

// metaFirstDiff returns the index of the first line where got differs from want, or -1.
func metaFirstDiff(want, got metaRun) int {
	if got.err != nil {
		return 0
	}
	for i := range max(len(want.lines), len(got.lines)) {
		if i >= len(want.lines) || i >= len(got.lines) || want.lines[i] != got.lines[i] {
			return i
		}
	}
	return -1
}

// check replays the case under the model and every option set (two at a time, each DB on its
// own MemFS) and fails t, after shrinking the sequence, when any option set's output differs
// from the model's.
func (c *metaCase) check(t *testing.T) {
	start := time.Now()
	want := c.replay(c.ops, -1)
	runs := make([]metaRun, len(c.header.Options))
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, min(2, runtime.GOMAXPROCS(0))))
	for i := range runs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			runs[i] = c.replay(c.ops, i)
		}()
	}
	wg.Wait()
	first, failing := -1, -1
	for i, r := range runs {
		if d := metaFirstDiff(want, r); d >= 0 && (first < 0 || d < first) {
			first, failing = d, i
		}
	}
	if first < 0 {
		commits, conflicts := 0, 0
		for i, op := range c.ops {
			if op.Kind == metaCommit {
				commits++
				if want.lines[i] == "conflict" {
					conflicts++
				}
			}
		}
		var stats []string
		for i, r := range runs {
			stats = append(stats, fmt.Sprintf("option set %d: %s", i, r.stats))
		}
		t.Logf("%s: %d operations under %d option sets (comparator %s) agree with the model (%.1fs); %d commits, %d conflicts\n  %s",
			c.name, len(c.ops), len(runs), c.header.Comparator, time.Since(start).Seconds(), commits, conflicts,
			strings.Join(stats, "\n  "))
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (comparator %s): the output of operation %d of %d differs: %s\n",
		c.name, c.header.Comparator, first+1, len(c.ops), c.opAt(c.ops, first))
	fmt.Fprintf(&b, "  model: %s\n", metaLine(want, first, ""))
	for i, r := range runs {
		fmt.Fprintf(&b, "  option set %d (%s):\n         %s\n", i, c.header.Options[i], metaLine(r, first, metaLineAt(want, first)))
	}
	if p := runs[failing].panic; p != "" {
		fmt.Fprintf(&b, "option set %d panicked: %s\n", failing, p)
	}
	full := c.write(t, "", c.ops, "the full sequence")
	fmt.Fprintf(&b, "the full sequence: %s\n", full)
	min, took := c.minimize(failing, first)
	fmt.Fprintf(&b, "shrunk to %d operations in %.1fs", len(min), took.Seconds())
	one := *c
	one.header.Options = []metaOptions{c.header.Options[failing]}
	minPath := one.write(t, "-min", min, fmt.Sprintf("shrunk from %d operations", len(c.ops)))
	fmt.Fprintf(&b, ": %s\n  replay: go test ./db -run '^TestMetamorphic$' -metamorphic-ops %s\n", minPath, minPath)
	if len(min) <= 60 {
		mw, mg := one.replay(min, -1), one.replay(min, 0)
		for i, op := range min {
			mark := "  "
			if metaLineAt(mw, i) != metaLineAt(mg, i) {
				mark = "!!"
			}
			fmt.Fprintf(&b, "  %s %-40s -> %s\n", mark, op, metaShort(metaLineAt(mg, i), 160))
			if mark == "!!" {
				fmt.Fprintf(&b, "     %-40s    model: %s\n", "", metaShort(metaLineAt(mw, i), 160))
			}
		}
	}
	t.Fatal(b.String())
}

// opAt prints operation i of ops, or the close after the last.
func (c *metaCase) opAt(ops []metaOp, i int) string {
	if i >= len(ops) {
		return "the close at the end"
	}
	return fmt.Sprintf("%q", ops[i].String())
}

// metaLineAt returns line i of r, or what stands in for it.
func metaLineAt(r metaRun, i int) string {
	switch {
	case r.err != nil:
		return "open failed: " + r.err.Error()
	case i >= len(r.lines):
		return "(no output: the replay ended before)"
	}
	return r.lines[i]
}

// metaLine returns line i of r, cut around its first difference from want (if given).
func metaLine(r metaRun, i int, want string) string {
	line := metaLineAt(r, i)
	if want == "" || line == want {
		if want != "" {
			return "the same"
		}
		return metaShort(line, 400)
	}
	at := 0
	for at < len(line) && at < len(want) && line[at] == want[at] {
		at++
	}
	if at > 150 {
		return fmt.Sprintf("...%s (differs from the model at byte %d)", metaShort(line[at-100:], 300), at)
	}
	return metaShort(line, 400)
}

func metaShort(s string, n int) string {
	if len(s) > n {
		return s[:n] + fmt.Sprintf("...(%d bytes)", len(s))
	}
	return s
}

// minimize shrinks c's operations while option set i still differs from the model at an
// operation of the kind that differed at first (the close counts as a kind of its own): runs of
// operations, then entries of batches; it returns the shortest failing sequence found within
// -metamorphic-minimize.
func (c *metaCase) minimize(i, first int) ([]metaOp, time.Duration) {
	start := time.Now()
	deadline := start.Add(*metaMinimizeFlag)
	kind := func(ops []metaOp, at int) string {
		if at >= len(ops) {
			return "close"
		}
		return ops[at].Kind.String()
	}
	want := kind(c.ops, first)
	fails := func(ops []metaOp) bool {
		d := metaFirstDiff(c.replay(ops, -1), c.replay(ops, i))
		return d >= 0 && kind(ops, d) == want
	}
	ops := c.ops
	if first < len(ops) && fails(ops[:first+1]) {
		ops = ops[:first+1] // what follows the difference does not matter
	}
	// ddmin's complements: drop one of n chunks; fewer chunks after a success, more after none.
	for n := 2; len(ops) > 1 && time.Now().Before(deadline); {
		size := (len(ops) + n - 1) / n
		dropped := false
		for lo := 0; lo < len(ops) && time.Now().Before(deadline); lo += size {
			cand := append(append([]metaOp(nil), ops[:lo]...), ops[min(lo+size, len(ops)):]...)
			if fails(cand) {
				ops, dropped = cand, true
				n = max(n-1, 2)
				break
			}
		}
		if !dropped {
			if size == 1 {
				break
			}
			n = min(2*n, len(ops))
		}
	}
	// Then the entries of each batch, one at a time.
	for i := 0; i < len(ops) && time.Now().Before(deadline); i++ {
		for j := 0; j < len(ops[i].Entries) && len(ops[i].Entries) > 1 && time.Now().Before(deadline); {
			cand := slices.Clone(ops)
			cand[i].Entries = slices.Delete(slices.Clone(ops[i].Entries), j, j+1)
			if fails(cand) {
				ops = cand
			} else {
				j++
			}
		}
	}
	return ops, time.Since(start)
}

// write writes ops, with c's header, to a file under the system's temporary directory (named
// by the seed, or after the file replayed) and returns its path; it fails t only by logging.
func (c *metaCase) write(t *testing.T, suffix string, ops []metaOp, what string) string {
	name := fmt.Sprintf("strata-metamorphic-%d%s.ops", c.seed, suffix)
	if c.seed == 0 {
		name = strings.TrimSuffix(filepath.Base(c.name), ".ops") + suffix + ".ops"
		if suffix == "" {
			name = strings.TrimSuffix(filepath.Base(c.name), ".ops") + "-again.ops"
		}
	}
	path := filepath.Join(os.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Logf("cannot write %s: %v", path, err)
		return "(not written)"
	}
	comments := []string{
		fmt.Sprintf("TestMetamorphic, %s: %s", c.name, what),
		"replay: go test ./db -run '^TestMetamorphic$' -metamorphic-ops " + path,
	}
	err = writeMetaOps(f, comments, c.header, ops)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Logf("cannot write %s: %v", path, err)
	}
	return path
}
