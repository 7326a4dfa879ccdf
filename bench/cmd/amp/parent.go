package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/stratadb/strata/bench/internal/engine"
	"github.com/stratadb/strata/bench/internal/machine"
	"github.com/stratadb/strata/bench/internal/report"
)

// RunParent measures every engine, each in a child process, prints the results and writes
// the files the flags ask for.
func (c *config) RunParent() error {
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return err
	}
	info := machine.Describe(c.Dir)
	fmt.Println("amp: write and space amplification, each engine in its own process and fresh directory")
	fmt.Print(info.Text())
	fmt.Printf("%-22s --num %d keys of 16 bytes, %d-byte values (compression ratio %g): fill, compact, overwrite twice, compact\n",
		"Workload:", c.num, c.valueSize, c.compressionRatio)
	fmt.Println("------------------------------------------------")

	var results []result
	failed := 0
	for _, e := range c.EngineSet {
		start := time.Now()
		r, err := runOne(c, e)
		if err != nil {
			failed++
			fmt.Printf("%-10s FAILED: %v\n", e.Name, err)
			continue
		}
		results = append(results, r)
		fmt.Printf("%-10s write amp %.2f, space amp %.3f, tables %.1f MiB then %.1f MiB (%.0f s)\n",
			e.Name, r.writeAmp(), r.spaceAmp(), mib(r.TablesFirst), mib(r.TablesSecond), time.Since(start).Seconds())
	}
	fmt.Println()
	fmt.Print(resultsTable(c, results).Text())
	fmt.Println()
	fmt.Print(phasesTable(c, results).Text())

	if c.JSON != "" {
		if err := report.WriteJSON(c.JSON, map[string]any{
			"machine": info, "settings": engine.DefaultSettings(), "num": c.num,
			"value_size": c.valueSize, "compression_ratio": c.compressionRatio, "results": results,
		}); err != nil {
			return err
		}
		fmt.Printf("Wrote %s\n", c.JSON)
	}
	if failed > 0 {
		return fmt.Errorf("%d engines failed; no document rewritten", failed)
	}
	if c.Out != "" {
		if err := writeDoc(c, info, results); err != nil {
			return err
		}
		fmt.Printf("Wrote section amp-%s of %s\n", c.Section, c.Out)
	}
	return nil
}

func runOne(c *config, e *engine.Engine) (result, error) {
	var r result
	args := []string{"-num", fmt.Sprint(c.num), "-value_size", fmt.Sprint(c.valueSize),
		"-compression_ratio", fmt.Sprint(c.compressionRatio)}
	got := false
	_, err := c.RunEngine("strata-amp", e, args, func(line []byte) error {
		got = true
		return json.Unmarshal(line, &r)
	})
	if err == nil && !got {
		err = fmt.Errorf("the child reported nothing")
	}
	return r, err
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func title(name string) string {
	if e, err := engine.Lookup(name); err == nil {
		return e.Title
	}
	return name
}

func resultsTable(c *config, rs []result) *report.Table {
	t := &report.Table{
		Header: []string{"engine", "write amp", "space amp", "tables after 1st compaction", "tables after 2nd", "written by the process", "user bytes"},
		Right:  map[int]bool{1: true, 2: true, 3: true, 4: true, 5: true, 6: true},
	}
	for _, r := range rs {
		t.Rows = append(t.Rows, []string{
			title(r.Engine),
			fmt.Sprintf("%.2f", r.writeAmp()),
			fmt.Sprintf("%.3f", r.spaceAmp()),
			fmt.Sprintf("%.1f MiB", mib(r.TablesFirst)),
			fmt.Sprintf("%.1f MiB", mib(r.TablesSecond)),
			fmt.Sprintf("%.1f MiB", mib(r.WrittenBytes)),
			fmt.Sprintf("%.1f MiB", mib(r.UserBytes)),
		})
	}
	return t
}

// phasesTable shows where each engine's writes and time went.
func phasesTable(c *config, rs []result) *report.Table {
	t := &report.Table{Header: []string{"engine"}, Right: map[int]bool{}}
	if len(rs) == 0 {
		return t
	}
	for i, p := range rs[0].Phases {
		t.Header = append(t.Header, p.Name)
		t.Right[i+1] = true
	}
	for _, r := range rs {
		row := []string{title(r.Engine)}
		for _, p := range r.Phases {
			row = append(row, fmt.Sprintf("%.1f MiB, %.1f s", mib(p.WrittenBytes), p.Seconds))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func writeDoc(c *config, info machine.Info, rs []result) error {
	var b strings.Builder
	b.WriteString(c.Heading("amp", c.num, info.Date))
	fmt.Fprintf(&b, "--num %d keys, %d-byte values (compression ratio %g); user bytes = 3 passes x %d x %d bytes.\n\n",
		c.num, c.valueSize, c.compressionRatio, c.num, 16+c.valueSize)
	b.WriteString(resultsTable(c, rs).Markdown())
	b.WriteString("\nBytes handed to write(2) and seconds, per phase:\n\n")
	b.WriteString(phasesTable(c, rs).Markdown())
	b.WriteString("\nMachine:\n\n")
	b.WriteString(info.Markdown())
	fmt.Fprintf(&b, "- Engines: %s\n", engine.Versions(c.EngineSet))
	return report.ReplaceSection(c.Out, "amp-"+c.Section, b.String())
}
