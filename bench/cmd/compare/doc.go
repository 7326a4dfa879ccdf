package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/stratadb/strata/bench/internal/engine"
	"github.com/stratadb/strata/bench/internal/machine"
	"github.com/stratadb/strata/bench/internal/report"
)

// writeDoc rewrites section compare-<section> of c.Out.
func writeDoc(c *config, s *summary, info machine.Info, chartPath string) error {
	var b strings.Builder
	b.WriteString(c.Heading("compare", c.num, info.Date))
	fmt.Fprintf(&b, "--num %d, --reads %d, %d-byte values that snappy compresses to %g of their size; median of %d rounds.\n\n",
		c.num, c.reads, c.valueSize, c.compressionRatio, c.rounds)
	fmt.Fprintf(&b, "Median micros/op; in parentheses, the engine's time over %s's (above 1: %s was faster). ", s.base.Title, s.base.Title)
	b.WriteString("For a workload run in several goroutines, micros/op is db_bench's figure, the goroutines' summed time over the operations, a mean latency; its throughput is in the next table.\n\n")
	b.WriteString(s.microsTable().Markdown())
	b.WriteString("\nMedian throughput, operations per second of wall time (the chart's figures):\n\n")
	b.WriteString(s.opsTable().Markdown())
	rel, err := filepath.Rel(filepath.Dir(c.Out), chartPath)
	if err != nil {
		rel = chartPath
	}
	fmt.Fprintf(&b, "\n![Operations per second per engine and workload](%s)\n\n", filepath.ToSlash(rel))
	b.WriteString("Machine:\n\n")
	b.WriteString(info.Markdown())
	fmt.Fprintf(&b, "- Load average at the end: %s\n", machine.LoadAvg())
	fmt.Fprintf(&b, "- Engines: %s\n", engine.Versions(c.EngineSet))
	fmt.Fprintf(&b, "- Settings: %s\n\n", settingsLine())
	b.WriteString("<details><summary>Every round, micros/op</summary>\n\n")
	b.WriteString(s.roundsTable().Markdown())
	b.WriteString("\n</details>\n")
	return report.ReplaceSection(c.Out, "compare-"+c.Section, b.String())
}
