package main

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stratadb/strata/bench/internal/engine"
	"github.com/stratadb/strata/bench/internal/machine"
	"github.com/stratadb/strata/bench/internal/report"
	"github.com/stratadb/strata/bench/internal/workload"
)

func TestMedian(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median = %v", m)
	}
	if m := median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("median = %v", m)
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing is not NaN")
	}
}

func TestRotate(t *testing.T) {
	es := engine.All()
	for r := 0; r < len(es); r++ {
		got := rotate(es, r)
		if got[0] != es[r] || len(got) != len(es) {
			t.Errorf("rotate(%d) starts with %s", r, got[0].Name)
		}
	}
}

// TestChild runs the child's sequence in this process, at a small size, on every engine (those
// that run only when named included).
func TestChild(t *testing.T) {
	c, err := parseFlags([]string{"--num", "2000", "--workloads", "fillseq,readrandom,fillsync/threads=2"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range engine.Every() {
		r := workload.NewRunner(e, filepath.Join(t.TempDir(), "db"), engine.DefaultSettings(), c.workloadConfig())
		for _, st := range workload.Plan(c.specs) {
			res, err := r.Run(st)
			if err != nil {
				t.Fatalf("%s: %s: %v", e.Name, st, err)
			}
			t.Logf("%-10s %s", e.Name, res.Line())
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSummaryAndDoc feeds made-up rounds through the summary, the document and the chart.
func TestSummaryAndDoc(t *testing.T) {
	c, err := parseFlags([]string{"--num", "100000", "--rounds", "3", "--engines", "strata,goleveldb",
		"--workloads", "fillseq,readrandom,fillsync/threads=8"})
	if err != nil {
		t.Fatal(err)
	}
	var runs []run
	for r := 1; r <= 3; r++ {
		for i, e := range []string{"strata", "goleveldb"} {
			f := float64(r + i) // goleveldb's rounds are one slower
			runs = append(runs, run{Round: r, Engine: e, Results: []workload.Result{
				{Workload: "fillseq", Threads: 1, Ops: 1000, ElapsedNS: int64(f * 1e6), ThreadTimeNS: int64(f * 1e6)},
				{Workload: "fillrandom", Setup: true, Threads: 1, Ops: 1000, ElapsedNS: 1e6, ThreadTimeNS: 1e6},
				{Workload: "readrandom", Threads: 1, Ops: 1000, ElapsedNS: int64(f * 2e6), ThreadTimeNS: int64(f * 2e6)},
				{Workload: "fillsync/threads=8", Threads: 8, Ops: 800, ElapsedNS: 1e8, ThreadTimeNS: 8e8},
			}})
		}
	}
	s := summarize(c, runs)
	if got := s.workloads; strings.Join(got, ",") != "fillseq,readrandom,fillsync/threads=8" {
		t.Fatalf("workloads %v", got)
	}
	text := s.text()
	// strata: median of 1, 2, 3 ms per 1000 ops = 2 µs/op; goleveldb: 3 µs/op, ratio 1.50.
	for _, want := range []string{"fillseq", "2.000", "3.000 (1.50)", "4.000", "6.000 (1.50)", "1000 ", "8,000"} {
		if !strings.Contains(text, want) {
			t.Errorf("summary lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "fillrandom") {
		t.Errorf("summary shows the setup step:\n%s", text)
	}

	dir := t.TempDir()
	c.Out = filepath.Join(dir, "benchmarks.md")
	begin, end := report.Markers("compare-smoke")
	if err := os.WriteFile(c.Out, []byte("# Benchmarks\n\n"+begin+"\npending\n"+end+"\n\ntail\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	info := machine.Describe(dir)
	chart := filepath.Join(dir, "benchmarks-smoke.svg")
	if err := writeDoc(c, s, info, chart); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(c.Out)
	doc := string(b)
	for _, want := range []string{"Smoke run at --num 100000", "--num 100000", "(benchmarks-smoke.svg)",
		"| fillseq | 2.000 | 3.000 (1.50) |", "- CPU: ", "round 3", "\ntail\n", "./cmd/compare --engines strata,goleveldb --num 100000 --rounds 3"} {
		if !strings.Contains(doc, want) {
			t.Errorf("document lacks %q:\n%s", want, doc)
		}
	}
	if strings.Contains(doc, "pending") {
		t.Error("placeholder not replaced")
	}
	if svg := string(s.chart(c, info).SVG()); strings.Count(svg, "<title>") != 6 {
		t.Errorf("chart has %d bars, want 6", strings.Count(svg, "<title>"))
	}
}

// TestSummarySkipped: an engine that skipped txnrandom (no transactions) shows "n/a" in every
// table, not a figure or a missing one, and no ratio; the engines that ran it show theirs.
func TestSummarySkipped(t *testing.T) {
	c, err := parseFlags([]string{"--num", "100000", "--rounds", "2", "--engines", "strata,pebble,badger",
		"--workloads", "txnrandom/threads=4"})
	if err != nil {
		t.Fatal(err)
	}
	var runs []run
	for r := 1; r <= 2; r++ {
		runs = append(runs,
			run{Round: r, Engine: "strata", Results: []workload.Result{
				{Workload: "fillrandom", Setup: true, Threads: 1, Ops: 1000, ElapsedNS: 1e6, ThreadTimeNS: 1e6},
				{Workload: "txnrandom/threads=4", Threads: 4, Ops: 4000, ElapsedNS: 4e6, ThreadTimeNS: 16e6, Message: "(2 conflicts)", Conflicts: 2},
			}},
			run{Round: r, Engine: "pebble", Results: []workload.Result{
				{Workload: "fillrandom", Setup: true, Threads: 1, Ops: 1000, ElapsedNS: 1e6, ThreadTimeNS: 1e6},
				{Workload: "txnrandom/threads=4", Threads: 4, Skipped: "no transactions"},
			}},
			run{Round: r, Engine: "badger", Results: []workload.Result{
				{Workload: "fillrandom", Setup: true, Threads: 1, Ops: 1000, ElapsedNS: 1e6, ThreadTimeNS: 1e6},
				{Workload: "txnrandom/threads=4", Threads: 4, Ops: 4000, ElapsedNS: 8e6, ThreadTimeNS: 32e6},
			}})
	}
	s := summarize(c, runs)
	if s.failures != 0 {
		t.Fatalf("%d failures", s.failures)
	}
	want := []string{"txnrandom/threads=4", "4.000", "n/a", "8.000 (2.00)"}
	if got := s.microsTable().Rows[0]; !slices.Equal(got, want) {
		t.Errorf("micros row %q, want %q", got, want)
	}
	if got := s.opsTable().Rows[0]; got[2] != "n/a" || got[1] != "1,000,000" {
		t.Errorf("ops row %q", got)
	}
	for _, row := range s.roundsTable().Rows {
		if row[1] == "pebble" && (row[2] != "n/a" || row[3] != "n/a") {
			t.Errorf("rounds row %q", row)
		}
	}
	if svg := string(s.chart(c, machine.Info{Date: "2026-01-01"}).SVG()); strings.Count(svg, "<title>") != 2 {
		t.Errorf("chart has %d bars, want 2 (none for pebble)", strings.Count(svg, "<title>"))
	}
}
