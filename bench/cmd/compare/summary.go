package main

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/stratadb/strata/bench/internal/engine"
	"github.com/stratadb/strata/bench/internal/machine"
	"github.com/stratadb/strata/bench/internal/report"
	"github.com/stratadb/strata/bench/internal/workload"
)

// summary holds every round's figures per workload and engine.
type summary struct {
	engines   []*engine.Engine
	base      *engine.Engine // the engine ratios are taken to: Strata when it ran
	workloads []string       // the asked-for workloads (setup steps left out), in order
	micros    map[string]map[string][]float64
	ops       map[string]map[string][]float64
	rounds    int
	failures  int
	// skipped marks, per workload, the engines that did not run it (txnrandom on an engine
	// without transactions): their cells say "n/a".
	skipped map[string]map[string]bool
	// peakRSS holds each engine's children's peak resident memory, in MB, one per round.
	peakRSS map[string][]float64
}

func summarize(c *config, runs []run) *summary {
	s := &summary{
		engines: c.EngineSet,
		base:    c.EngineSet[0],
		micros:  map[string]map[string][]float64{},
		ops:     map[string]map[string][]float64{},
		skipped: map[string]map[string]bool{},
		peakRSS: map[string][]float64{},
		rounds:  c.rounds,
	}
	for _, e := range c.EngineSet {
		if e.Name == "strata" {
			s.base = e
		}
	}
	for _, st := range workload.Plan(c.specs) {
		if name := st.Spec.String(); !st.Setup && !slices.Contains(s.workloads, name) {
			s.workloads = append(s.workloads, name)
			s.micros[name] = map[string][]float64{}
			s.ops[name] = map[string][]float64{}
			s.skipped[name] = map[string]bool{}
		}
	}
	for _, r := range runs {
		if r.Error != "" {
			s.failures++
		}
		if r.PeakRSSBytes > 0 {
			s.peakRSS[r.Engine] = append(s.peakRSS[r.Engine], float64(r.PeakRSSBytes)/1e6)
		}
		for _, res := range r.Results {
			if res.Setup || s.micros[res.Workload] == nil {
				continue
			}
			if res.Skipped != "" {
				s.skipped[res.Workload][r.Engine] = true
				continue
			}
			s.micros[res.Workload][r.Engine] = append(s.micros[res.Workload][r.Engine], res.MicrosPerOp())
			s.ops[res.Workload][r.Engine] = append(s.ops[res.Workload][r.Engine], res.OpsPerSec())
		}
	}
	return s
}

// median of xs; NaN for none. An even count averages the middle two.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// microsTable has the median micros/op, and each engine's ratio to the base engine's.
func (s *summary) microsTable() *report.Table {
	t := &report.Table{Header: []string{"workload"}, Right: map[int]bool{}}
	for i, e := range s.engines {
		h := e.Title + " µs/op"
		if e != s.base {
			h += " (× " + s.base.Title + ")"
		}
		t.Header = append(t.Header, h)
		t.Right[i+1] = true
	}
	for _, w := range s.workloads {
		row := []string{w}
		base := median(s.micros[w][s.base.Name])
		for _, e := range s.engines {
			m := median(s.micros[w][e.Name])
			cell := s.cell(w, e, formatMicros(m))
			if e != s.base && !math.IsNaN(m) && base > 0 {
				cell += fmt.Sprintf(" (%.2f)", m/base)
			}
			row = append(row, cell)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// opsTable has the median throughput, operations over wall time.
func (s *summary) opsTable() *report.Table {
	t := &report.Table{Header: []string{"workload"}, Right: map[int]bool{}}
	for i, e := range s.engines {
		t.Header = append(t.Header, e.Title+" ops/s")
		t.Right[i+1] = true
	}
	for _, w := range s.workloads {
		row := []string{w}
		for _, e := range s.engines {
			row = append(row, s.cell(w, e, formatOps(median(s.ops[w][e.Name]))))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// roundsTable lists every round's micros/op, to show the spread behind each median.
func (s *summary) roundsTable() *report.Table {
	t := &report.Table{Header: []string{"workload", "engine"}, Right: map[int]bool{}}
	for r := 1; r <= s.rounds; r++ {
		t.Header = append(t.Header, fmt.Sprintf("round %d", r))
		t.Right[r+1] = true
	}
	for _, w := range s.workloads {
		for _, e := range s.engines {
			row := []string{w, e.Title}
			for r := 0; r < s.rounds; r++ {
				v := math.NaN()
				if xs := s.micros[w][e.Name]; r < len(xs) {
					v = xs[r]
				}
				row = append(row, s.cell(w, e, formatMicros(v)))
			}
			t.Rows = append(t.Rows, row)
		}
	}
	return t
}

// cell is a table's cell for workload w and engine e: figure, or "n/a" where e skipped w and
// has no figure.
func (s *summary) cell(w string, e *engine.Engine, figure string) string {
	if figure == "—" && s.skipped[w][e.Name] {
		return "n/a"
	}
	return figure
}

func (s *summary) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Median of %d rounds, micros/op (db_bench's: the goroutines' time over the operations); in parentheses the\n", s.rounds)
	fmt.Fprintf(&b, "engine's time over %s's, so above 1 means %s was faster:\n\n", s.base.Title, s.base.Title)
	b.WriteString(s.microsTable().Text())
	b.WriteString("\nMedian throughput, operations per second of wall time:\n\n")
	b.WriteString(s.opsTable().Text())
	b.WriteString("\nPeak resident memory of each engine's process over its whole sequence (MB, median of the\nrounds; run one workload to measure that workload's):")
	for _, e := range s.engines {
		if rss := s.peakRSS[e.Name]; len(rss) > 0 {
			fmt.Fprintf(&b, " %s %.1f", e.Title, median(rss))
		}
	}
	b.WriteString("\n")
	return b.String()
}

// Colors of the engines in charts.
var colors = map[string]string{
	"strata":    "#d62728",
	"goleveldb": "#1f77b4",
	"pebble":    "#2ca02c",
	"badger":    "#9467bd",
	"cleveldb":  "#7f7f7f",
	"rocksdb":   "#ff7f0e",
	"bbolt":     "#17becf",
	"sqlite":    "#8c564b",
}

func (s *summary) chart(c *config, info machine.Info) *report.Chart {
	ch := &report.Chart{
		Title:    fmt.Sprintf("db_bench workloads at --num %d: operations per second, median of %d rounds", c.num, s.rounds),
		Subtitle: fmt.Sprintf("%s, %d CPUs; %s; higher is better", info.CPU, info.Cores, info.Date[:10]),
		YLabel:   "ops/s (wall time)",
		Groups:   s.workloads,
	}
	var all []float64
	for _, e := range s.engines {
		sr := report.Series{Name: e.Title, Color: colors[e.Name]}
		for _, w := range s.workloads {
			v := median(s.ops[w][e.Name])
			sr.Values = append(sr.Values, v)
			all = append(all, v)
		}
		ch.Series = append(ch.Series, sr)
	}
	ch.Log = report.WantLog(all)
	if ch.Log {
		ch.YLabel += ", log scale"
	}
	return ch
}

func formatMicros(v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

func formatOps(v float64) string {
	if math.IsNaN(v) || v <= 0 {
		return "—"
	}
	return report.Thousands(v)
}
