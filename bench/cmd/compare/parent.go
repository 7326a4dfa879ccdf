package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/stratadb/strata/bench/internal/engine"
	"github.com/stratadb/strata/bench/internal/machine"
	"github.com/stratadb/strata/bench/internal/report"
	"github.com/stratadb/strata/bench/internal/workload"
)

// run is one engine's sequence in one round.
type run struct {
	Round   int               `json:"round"`
	Engine  string            `json:"engine"`
	Results []workload.Result `json:"results"`
	Seconds float64           `json:"seconds"`
	// PeakRSSBytes is the child's peak resident memory over its whole sequence.
	PeakRSSBytes int64  `json:"peak_rss_bytes"`
	Error        string `json:"error,omitempty"`
}

// RunParent runs every engine's sequence, each in a child process, over the rounds, prints the
// results and writes the files the flags ask for.
func (c *config) RunParent() error { return runParent(c, os.Stdout) }

func runParent(c *config, w io.Writer) error {
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return err
	}
	info := machine.Describe(c.Dir)
	printHeader(w, c, info)
	var runs []run
	for r := 0; r < c.rounds; r++ {
		for _, e := range rotate(c.EngineSet, r) {
			runs = append(runs, runOne(c, w, r+1, e))
		}
	}
	s := summarize(c, runs)
	fmt.Fprintln(w)
	fmt.Fprint(w, s.text())
	fmt.Fprintf(w, "\nLoad average at the end: %s (at the start: %s)\n", machine.LoadAvg(), info.LoadAvg)

	if c.JSON != "" {
		if err := report.WriteJSON(c.JSON, map[string]any{
			"machine": info, "settings": engine.DefaultSettings(), "config": c.workloadConfig(),
			"workloads": c.workloads, "rounds": c.rounds, "runs": runs,
		}); err != nil {
			return err
		}
		fmt.Fprintf(w, "Wrote %s\n", c.JSON)
	}
	if s.failures > 0 {
		return fmt.Errorf("%d of %d runs failed; %s not rewritten", s.failures, len(runs), orNone(c.Out))
	}
	if c.Out != "" {
		chartPath := c.chart
		if chartPath == "" {
			name := "benchmarks.svg"
			if c.Section != "full" {
				name = "benchmarks-" + c.Section + ".svg"
			}
			chartPath = filepath.Join(filepath.Dir(c.Out), name)
		}
		if err := os.WriteFile(chartPath, s.chart(c, info).SVG(), 0o644); err != nil {
			return err
		}
		if err := writeDoc(c, s, info, chartPath); err != nil {
			return err
		}
		fmt.Fprintf(w, "Wrote section compare-%s of %s and the chart %s\n", c.Section, c.Out, chartPath)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "no file"
	}
	return s
}

// rotate returns es starting at element r mod len(es), so each engine goes first in turn.
func rotate(es []*engine.Engine, r int) []*engine.Engine {
	k := r % len(es)
	return append(slices.Clone(es[k:]), es[:k]...)
}

func printHeader(w io.Writer, c *config, info machine.Info) {
	fmt.Fprintln(w, "compare: db_bench workloads, each engine in its own process and fresh directory")
	fmt.Fprint(w, info.Text())
	fmt.Fprintf(w, "%-22s %s\n", "Engines:", engine.Versions(c.EngineSet))
	fmt.Fprintf(w, "%-22s %s\n", "Settings:", settingsLine())
	fmt.Fprintf(w, "%-22s --num %d, --reads %d, %d-byte values (compression ratio %g), %d rounds\n",
		"Workload:", c.num, c.reads, c.valueSize, c.compressionRatio, c.rounds)
	var steps []string
	for _, s := range workload.Plan(c.specs) {
		steps = append(steps, s.String())
	}
	fmt.Fprintf(w, "%-22s %s\n", "Sequence:", strings.Join(steps, ", "))
	fmt.Fprintln(w, "------------------------------------------------")
}

func settingsLine() string {
	s := engine.DefaultSettings()
	comp := "no compression"
	if s.Compression {
		comp = "snappy"
	}
	return fmt.Sprintf("%d MiB write buffer, %d MiB block cache, %d KiB blocks, %s, %d-bit bloom, %d open files, %d MiB tables",
		s.WriteBufferSize>>20, s.BlockCacheSize>>20, s.BlockSize>>10, comp, s.BloomBitsPerKey, s.MaxOpenFiles, s.MaxFileSize>>20)
}

// runOne runs engine e's sequence in a child process and a fresh directory.
func runOne(c *config, w io.Writer, round int, e *engine.Engine) run {
	r := run{Round: round, Engine: e.Name}
	start := time.Now()
	usage, err := c.RunEngine("strata-compare", e, c.childArgs(), func(line []byte) error {
		var res workload.Result
		if err := json.Unmarshal(line, &res); err != nil {
			return fmt.Errorf("bad line from child: %q: %w", line, err)
		}
		r.Results = append(r.Results, res)
		fmt.Fprintf(w, "round %d  %-10s %s\n", round, e.Name, res.Line())
		return nil
	})
	r.Seconds = time.Since(start).Seconds()
	r.PeakRSSBytes = usage.PeakRSSBytes
	fmt.Fprintf(w, "round %d  %-10s peak RSS %.1f MB (the whole sequence, one process)\n", round, e.Name, float64(usage.PeakRSSBytes)/1e6)
	if err != nil {
		r.Error = err.Error()
		fmt.Fprintf(w, "round %d  %-10s FAILED: %v\n", round, e.Name, err)
	}
	return r
}
