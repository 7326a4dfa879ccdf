package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestPermutation checks that π is a bijection of [0, n) for sizes around the powers of two,
// where the Feistel network's domain changes, and for a few seeds.
func TestPermutation(t *testing.T) {
	for _, n := range []int64{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 1000, 1 << 12, 1<<12 + 1, 54321} {
		for _, seed := range []uint64{0, 1, 42} {
			g, err := newGenerator(n, seed)
			if err != nil {
				t.Fatal(err)
			}
			seen := make([]bool, n)
			for i := uint64(0); i < uint64(n); i++ {
				p := g.permute(i)
				if p >= uint64(n) || seen[p] {
					t.Fatalf("n=%d seed=%d: π(%d) = %d, out of range or repeated", n, seed, i, p)
				}
				seen[p] = true
			}
		}
	}
	if _, err := newGenerator(0, 1); err == nil {
		t.Error("n = 0 accepted")
	}
	if _, err := newGenerator(maxN+1, 1); err == nil {
		t.Error("n = maxN+1 accepted")
	}
}

// TestNames checks the names' shape, that they are distinct, that the absent names are absent
// and end with '_', and that the tail alone tells the indexes apart at the ends of its range.
func TestNames(t *testing.T) {
	const n = 200_000
	g, err := newGenerator(n, 7)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool, n)
	lengths := map[int]int{}
	var buf []byte
	for i := uint64(0); i < n; i++ {
		buf = g.appendLine(buf[:0], i)
		checkShape(t, buf)
		if buf[len(buf)-1] == '_' {
			t.Fatalf("line %d: %q ends with '_'", i, buf)
		}
		if seen[string(buf)] {
			t.Fatalf("line %d: %q repeated", i, buf)
		}
		seen[string(buf)] = true
		lengths[len(buf)]++
	}
	for l := tailLen; l <= maxNameLen; l++ {
		if lengths[l] < n/11/2 {
			t.Errorf("only %d names of length %d", lengths[l], l)
		}
	}
	absent := g.absent()
	if len(absent) != absentN {
		t.Fatalf("%d absent names", len(absent))
	}
	for _, a := range absent {
		checkShape(t, a)
		if a[len(a)-1] != '_' || seen[string(a)] {
			t.Errorf("absent name %q: not ending with '_', or generated", a)
		}
	}
	// The tail encodes indexes up to maxN-1 injectively: neighbours at both ends differ.
	for _, p := range []uint64{0, 1, 35, 36, maxN - 2, maxN - 1} {
		a, b := g.appendName(nil, p), g.appendName(nil, p+1)
		if bytes.Equal(a[len(a)-tailLen:], b[len(b)-tailLen:]) && p+1 < maxN {
			t.Errorf("tails of %d and %d are equal: %q, %q", p, p+1, a, b)
		}
	}
}

func checkShape(t *testing.T, name []byte) {
	t.Helper()
	if len(name) < 6 || len(name) > 16 {
		t.Fatalf("%q: length %d", name, len(name))
	}
	for _, ch := range name {
		if !strings.ContainsRune(alphabet, rune(ch)) {
			t.Fatalf("%q: character %q", name, ch)
		}
	}
}

// TestInput checks that the input is written as the generator says, reused when it matches its
// sidecar, and written again when it does not.
func TestInput(t *testing.T) {
	dir := t.TempDir()
	const n, seed = 5000, 3
	var out strings.Builder
	path, err := ensureInput(&out, dir, n, seed)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := newGenerator(n, seed)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	var i uint64
	for ; sc.Scan(); i++ {
		if want := g.appendLine(nil, i); !bytes.Equal(sc.Bytes(), want) {
			t.Fatalf("line %d: %q, want %q", i, sc.Bytes(), want)
		}
	}
	f.Close()
	if i != n {
		t.Fatalf("%d lines, want %d", i, n)
	}

	reused := func() bool {
		t.Helper()
		out.Reset()
		if _, err := ensureInput(&out, dir, n, seed); err != nil {
			t.Fatal(err)
		}
		return strings.Contains(out.String(), "reused")
	}
	if !reused() {
		t.Fatalf("a matching input was written again: %s", out.String())
	}
	b, _ := os.ReadFile(path)
	b[100] ^= 1
	os.WriteFile(path, b, 0o644)
	if reused() {
		t.Fatal("a damaged input was reused")
	}
	if !reused() {
		t.Fatalf("the rewritten input was not reused: %s", out.String())
	}
	os.WriteFile(path+".json", []byte(`{"format":1,"n":5001,"seed":3}`), 0o644)
	if reused() {
		t.Fatal("an input whose sidecar has another n was reused")
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
}

// TestChunkReader reads an input through chunks far smaller than it, so lines straddle every
// boundary, and checks that every line comes once, in order, and that Sort sorts.
func TestChunkReader(t *testing.T) {
	dir := t.TempDir()
	const n = 3000
	path, err := ensureInput(io.Discard, dir, n, 9)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := newGenerator(n, 9)
	for _, c := range []*chunk{
		{buf: make([]byte, 0, 100), ents: make([]entry, 0, 1000)}, // the buffer fills first
		{buf: make([]byte, 0, 1000), ents: make([]entry, 0, 7)},   // the index fills first
		newChunk(64<<20, n), // one chunk
		{buf: make([]byte, 0, 100), names: make([][]byte, 0, 1000)}, // as slices: the buffer fills first
		{buf: make([]byte, 0, 1000), names: make([][]byte, 0, 7)},   // the index fills first
		newSliceChunk(64<<20, n),                                    // one chunk
	} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		cr := newChunkReader(f)
		var i uint64
		for {
			ok, err := cr.next(c)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			var names []string
			for k := range c.Len() {
				if want := g.appendLine(nil, i); !bytes.Equal(c.Name(k), want) {
					t.Fatalf("name %d: %q, want %q", i, c.Name(k), want)
				}
				names = append(names, string(c.Name(k)))
				i++
			}
			if c.sliced() {
				continue // sorting needs entries
			}
			c.Sort()
			slices.Sort(names)
			for k := range c.Len() {
				if string(c.Name(k)) != names[k] {
					t.Fatalf("sorted chunk: %q at %d, want %q", c.Name(k), k, names[k])
				}
			}
		}
		f.Close()
		if i != n {
			t.Fatalf("%d names read, want %d", i, n)
		}
	}

	long := filepath.Join(dir, "long")
	os.WriteFile(long, []byte("abcdefgh\n"+strings.Repeat("x", 200)+"\n"), 0o644)
	f, _ := os.Open(long)
	defer f.Close()
	cr := newChunkReader(f)
	c := &chunk{buf: make([]byte, 0, 100), ents: make([]entry, 0, 10)}
	if ok, err := cr.next(c); !ok || err != nil || c.Len() != 1 {
		t.Fatalf("first chunk: %v, %v, %d names", ok, err, c.Len())
	}
	if _, err := cr.next(c); err != errLongLine {
		t.Fatalf("a line longer than the buffer: %v", err)
	}
}

func TestParseBytes(t *testing.T) {
	for s, want := range map[string]int64{
		"1288490188": 1288490188, "1.2GiB": 1288490188, "512 MiB": 512 << 20, "2GB": 2e9, "64KiB": 64 << 10,
	} {
		if got, err := parseBytes(s); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "GiB", "-1", "1.2TB", "x"} {
		if _, err := parseBytes(s); err == nil {
			t.Errorf("parseBytes(%q) accepted", s)
		}
	}
}

// checkBuiltDB, when set (by the cleveldb build), checks a DB an engine built at dir from the
// n names of g after TestEngines verified it.
var checkBuiltDB func(t *testing.T, engine, dir string, n int64, g *generator)

// TestEngines loads and verifies n = 1,000,000 names (200,000 with -short) in every engine of
// this binary, in this process, with chunks small enough that at 1,000,000 the load takes two
// and the verify five: every name is found, no absent name is. It checks correctness only; timings
// belong to the command.
func TestEngines(t *testing.T) {
	n := int64(1_000_000)
	if testing.Short() {
		n = 200_000
	}
	dir := t.TempDir()
	input, err := ensureInput(io.Discard, dir, n, 1)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := newGenerator(n, 1)
	// The chunks of a 48 MiB budget, in a budget that keeps the Go heap's limit from slowing
	// the engines down: the test is about correctness, not the budget.
	plan := newMemPlan(256 << 20)
	plan.LoadChunk, plan.VerifyChunk = 24<<20, 6<<20
	// Strata's other load and lookup paths (strata.go), beside the ones it uses now.
	other := strataBulk
	if strataLoad.name == strataBulk.name {
		other = strataBatches
	}
	strataOther := *adapters["strata"]
	strataOther.load, strataOther.loadChunk = other.open, other.chunk
	strataOther.verify = newStrataHasChecker
	otherName := "strata-" + other.name
	for _, name := range append(adapterNames(), otherName) {
		a := adapters[name]
		if name == otherName {
			a = &strataOther
		}
		t.Run(name, func(t *testing.T) {
			var log strings.Builder
			j := &job{
				a: a, dir: filepath.Join(dir, name), input: input, n: n,
				absent: g.absent(), plan: plan, log: &log,
			}
			rep, err := j.run()
			t.Logf("%s", strings.TrimSpace(log.String()))
			if err != nil {
				t.Fatal(err)
			}
			if r := rep.Result; r.Missing != 0 || r.FalseFound != 0 {
				t.Fatalf("missing %d (%v), false found %d (%v)", r.Missing, rep.MissingExamples, r.FalseFound, rep.FalseExamples)
			}
			if rep.Result.DiskBytes <= 0 {
				t.Errorf("disk bytes %d", rep.Result.DiskBytes)
			}
			if checkBuiltDB != nil {
				checkBuiltDB(t, a.name, j.dir, n, g)
			}
		})
	}
}

// BenchmarkLine measures the generation of one input line: the permutation and the encoding,
// without allocation.
func BenchmarkLine(b *testing.B) {
	g, err := newGenerator(100_000_000, 1)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, maxNameLen+1)
	b.ReportAllocs()
	for i := range b.N {
		buf = append(g.appendLine(buf[:0], uint64(i)%100_000_000), '\n')
	}
	b.SetBytes(avgLine)
}
