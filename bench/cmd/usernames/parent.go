package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/stratadb/strata/bench/internal/child"
	"github.com/stratadb/strata/bench/internal/machine"
	"github.com/stratadb/strata/bench/internal/report"
)

// run is one engine's run as the parent saw it.
type run struct {
	a   *adapter
	rep childReport
	err error
}

// RunParent writes or checks the input, runs every engine in a child process of its own, one
// after the other, prints the summary and writes --json. It fails when an engine failed, missed
// a name or found an absent one.
func (c *config) RunParent() error { return runParent(c, os.Stdout) }

func runParent(c *config, w io.Writer) error {
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return err
	}
	info := machine.Describe(c.dir)
	printHeader(w, c, info)
	if _, err := ensureInput(w, c.dir, c.n, c.seed); err != nil {
		return err
	}
	child.Settle() // the input's pages written back before the first engine starts
	var runs []run
	for _, a := range c.set {
		r := runOne(c, w, a)
		runs = append(runs, r)
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, summary(runs).Text())
	fmt.Fprintf(w, "\nLoad average at the end: %s (at the start: %s)\n", machine.LoadAvg(), info.LoadAvg)

	var results []result
	failed := 0
	for _, r := range runs {
		res := r.rep.Result
		res.Engine, res.N = r.a.name, c.n
		if r.err != nil {
			res.Error = r.err.Error()
		}
		results = append(results, res)
		if r.err != nil || res.Missing > 0 || res.FalseFound > 0 {
			failed++
		}
	}
	if c.json != "" {
		if err := report.WriteJSON(c.json, results); err != nil {
			return err
		}
		fmt.Fprintf(w, "Wrote %s\n", c.json)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d engines failed, missed names or found absent ones", failed, len(runs))
	}
	return nil
}

func printHeader(w io.Writer, c *config, info machine.Info) {
	fmt.Fprintln(w, "usernames: load n usernames into each engine, then look every one up, and 4 absent names")
	fmt.Fprint(w, info.Text())
	var titles []string
	for _, a := range c.set {
		titles = append(titles, a.title())
	}
	fmt.Fprintf(w, "%-22s %s\n", "Engines:", strings.Join(titles, "; "))
	p := newMemPlan(c.budget)
	fmt.Fprintf(w, "%-22s --n %d, --seed %d, --memory %s\n", "Workload:", c.n, c.seed, mib(c.budget))
	fmt.Fprintf(w, "%-22s load: chunk %s, memtables %s, block cache %s; verify: chunk %s, block cache %s\n",
		"Memory plan:", mib(p.LoadChunk), mib(p.Memtables), mib(p.LoadCache), mib(p.VerifyChunk), mib(p.VerifyCache))
	for _, a := range c.set {
		fmt.Fprintf(w, "  %-20s %s\n", a.name+":", a.memory(p))
	}
	fmt.Fprintln(w, "------------------------------------------------")
}

// runOne runs engine a's child in a fresh directory under --dir, removed afterwards.
func runOne(c *config, w io.Writer, a *adapter) run {
	r := run{a: a}
	tmp, err := os.MkdirTemp(c.dir, "usernames-"+a.name+"-")
	if err != nil {
		r.err = err
		return r
	}
	defer func() {
		os.RemoveAll(tmp)
		child.Settle()
	}()
	got := false
	// The child reads its own VmHWM at the end (its report), so the rusage is not needed.
	_, r.err = child.Run(c.childArgs(a, filepath.Join(tmp, "db")), func(line []byte) error {
		if err := json.Unmarshal(line, &r.rep); err != nil {
			return fmt.Errorf("bad line from child: %q: %w", line, err)
		}
		got = true
		return nil
	})
	if r.err == nil && !got {
		r.err = fmt.Errorf("%s: the child reported nothing", a.name)
	}
	res := r.rep.Result
	switch {
	case r.err != nil:
		fmt.Fprintf(w, "%-10s FAILED: %v\n", a.name, r.err)
	default:
		fmt.Fprintf(w, "%-10s load %.1f s, verify %.1f s, peak RSS %s (%s after the load), disk %s, missing %d, false found %d\n",
			a.name, res.LoadS, res.VerifyS, mb(res.PeakRSSBytes), mb(r.rep.LoadPeakRSSBytes), mb(res.DiskBytes), res.Missing, res.FalseFound)
		if len(r.rep.MissingExamples) > 0 {
			fmt.Fprintf(w, "%-10s missing, for example: %s\n", "", strings.Join(r.rep.MissingExamples, " "))
		}
		if len(r.rep.FalseExamples) > 0 {
			fmt.Fprintf(w, "%-10s absent but found: %s\n", "", strings.Join(r.rep.FalseExamples, " "))
		}
	}
	return r
}

// summary is the table of every engine's run.
func summary(runs []run) *report.Table {
	t := &report.Table{
		Header: []string{"engine", "load s", "verify s", "peak RSS MB", "load peak RSS MB", "disk MB", "missing", "false found"},
		Right:  map[int]bool{1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true},
	}
	for _, r := range runs {
		if r.err != nil {
			t.Rows = append(t.Rows, []string{r.a.name, "failed", "", "", "", "", "", ""})
			continue
		}
		res := r.rep.Result
		t.Rows = append(t.Rows, []string{
			r.a.name,
			fmt.Sprintf("%.1f", res.LoadS), fmt.Sprintf("%.1f", res.VerifyS),
			fmt.Sprintf("%.0f", float64(res.PeakRSSBytes)/1e6), fmt.Sprintf("%.0f", float64(r.rep.LoadPeakRSSBytes)/1e6),
			fmt.Sprintf("%.0f", float64(res.DiskBytes)/1e6),
			fmt.Sprint(res.Missing), fmt.Sprint(res.FalseFound),
		})
	}
	return t
}

// mb formats a byte count in MB (10^6 bytes, the unit of the challenge's 1.26 GB).
func mb(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/1e6) }
