package workload

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stratadb/strata/bench/internal/engine"
	"github.com/stratadb/strata/internal/benchgen"
)

func TestPlan(t *testing.T) {
	for _, tc := range []struct{ list, want string }{
		{DefaultList, DefaultList},
		{"readrandom", "fillrandom (setup),readrandom"},
		{"fillseq,readseq,deleteseq,readrandom", "fillseq,readseq,deleteseq,fillrandom (setup),readrandom"},
		{"fill100K,overwrite,compact,readhot", "fill100K,fillrandom (setup),overwrite,compact,readhot"},
		{"fillsync/threads=8,seekrandom", "fillsync/threads=8,fillrandom (setup),seekrandom"},
		{"txnrandom/threads=4,batch2random,readrandom", "fillrandom (setup),txnrandom/threads=4,batch2random,readrandom"},
		{"fillsync,batch2random", "fillsync,fillrandom (setup),batch2random"},
	} {
		specs, err := ParseSpecs(tc.list)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range Plan(specs) {
			got = append(got, s.String())
		}
		if g := strings.Join(got, ","); g != tc.want {
			t.Errorf("Plan(%s) = %s, want %s", tc.list, g, tc.want)
		}
	}
	for _, bad := range []string{"", "readfast", "fillsync/threads=0", "fillsync/8"} {
		if _, err := ParseSpecs(bad); err == nil {
			t.Errorf("ParseSpecs(%q) succeeded", bad)
		}
	}
}

// TestGenerator pins the generator to db_bench's: the same first key numbers for seed 1001 and
// a value that repeats its first half.
func TestGenerator(t *testing.T) {
	r := benchgen.NewRNG(1001)
	var got []int
	for i := 0; i < 3; i++ {
		got = append(got, r.Uniform(1000000))
	}
	// Seed 1000+1: 1001 * 16807 = 16823807 is below 2^31-1, so the first draw is 16823807.
	if got[0] != 823807 {
		t.Errorf("first key %d, want 823807", got[0])
	}
	v := benchgen.NewValueGenerator(0.5).Generate(100)
	if string(v[:50]) != string(v[50:]) {
		t.Errorf("value does not repeat its first half: %q", v)
	}
	if k := string(benchgen.FormatKey(nil, 42)); k != "0000000000000042" {
		t.Errorf("benchgen.FormatKey(42) = %q", k)
	}
	p := benchgen.Permutation(1000, 7)
	s := slices.Clone(p)
	slices.Sort(s)
	for i, v := range s {
		if int(v) != i {
			t.Fatalf("Permutation is not a permutation at %d", i)
		}
	}
}

// TestRunEveryEngine runs the default sequence and every other workload at a small size on
// every engine, and checks the counts that do not depend on the engine.
func TestRunEveryEngine(t *testing.T) {
	specs, err := ParseSpecs(DefaultList + ",fillbatch,readhot,deleteseq,compact")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Num: 3000, Reads: 3000, ValueSize: 100, CompressionRatio: 0.5}
	s := engine.DefaultSettings()
	s.WriteBufferSize = 64 << 10
	var msgs [][]string
	for _, e := range engine.Every() {
		r := NewRunner(e, filepath.Join(t.TempDir(), "db"), s, cfg)
		var m []string
		for _, step := range Plan(specs) {
			res, err := r.Run(step)
			if err != nil {
				t.Fatalf("%s %s: %v", e.Name, step, err)
			}
			if res.Ops == 0 || res.ElapsedNS <= 0 {
				t.Errorf("%s: %s", e.Name, res.Line())
			}
			m = append(m, res.Workload+" "+res.Message)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	// Same seeds, same keys: every engine finds the same keys.
	for i := 1; i < len(msgs); i++ {
		if !slices.Equal(msgs[0], msgs[i]) {
			t.Errorf("engines disagree:\n%s\n%s", strings.Join(msgs[0], "\n"), strings.Join(msgs[i], "\n"))
		}
	}
	t.Log(strings.Join(msgs[0], "\n"))
}

// TestTxnRandom runs the transaction workload and its baseline on every engine: the engines with
// transactions commit every one, once each (a single goroutine has no conflict); the others skip
// it as "n/a" yet count its goroutines, so that the steps after it draw the same keys
// everywhere. Afterwards the DB holds the same keys on every engine that ran it.
func TestTxnRandom(t *testing.T) {
	specs, err := ParseSpecs("txnrandom,txnrandom/threads=3,batch2random,readrandom")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Num: 2000, Reads: 2000, ValueSize: 100, CompressionRatio: 0.5}
	s := engine.DefaultSettings()
	s.WriteBufferSize = 64 << 10
	found := map[bool]string{} // readrandom's message, by whether the engine has transactions
	started := -1
	for _, e := range engine.Every() {
		r := NewRunner(e, filepath.Join(t.TempDir(), "db"), s, cfg)
		for _, step := range Plan(specs) {
			res, err := r.Run(step)
			if err != nil {
				t.Fatalf("%s %s: %v", e.Name, step, err)
			}
			t.Logf("%-10s %s", e.Name, res.Line())
			_, txn := r.db.(engine.Transactor)
			switch {
			case step.Name != "txnrandom":
				if res.Skipped != "" || res.Ops == 0 {
					t.Errorf("%s: %s", e.Name, res.Line())
				}
				if step.Name == "readrandom" {
					if f, ok := found[txn]; ok && f != res.Message {
						t.Errorf("%s: readrandom %s, another engine %s", e.Name, res.Message, f)
					}
					found[txn] = res.Message
				}
			case !txn:
				if res.Skipped == "" || res.Ops != 0 || !strings.Contains(res.Line(), "n/a (no transactions)") {
					t.Errorf("%s: %s", e.Name, res.Line())
				}
			default:
				if want := int64(cfg.Num * step.Threads); res.Skipped != "" || res.Ops != want || res.Bytes != want*2*(16+100) {
					t.Errorf("%s: %s, want %d ops", e.Name, res.Line(), want)
				}
				if step.Threads == 1 && (res.Conflicts != 0 || res.Message != "(0 conflicts)") {
					t.Errorf("%s: %s", e.Name, res.Line())
				}
			}
		}
		if started >= 0 && r.threadsStarted != started {
			t.Errorf("%s started %d goroutines, another engine %d", e.Name, r.threadsStarted, started)
		}
		started = r.threadsStarted
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
