package report

import (
	"encoding/xml"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReplaceSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "doc.md")
	begin, end := Markers("x")
	doc := "# Title\n\nbefore\n\n" + begin + "\npending the full run\n" + end + "\n\nafter\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ReplaceSection(path, "x", "new body\n\n"); err != nil {
		t.Fatal(err)
	}
	if err := ReplaceSection(path, "y", "appended"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	by, ey := Markers("y")
	want := "# Title\n\nbefore\n\n" + begin + "\nnew body\n" + end + "\n\nafter\n\n" + by + "\nappended\n" + ey + "\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if err := os.WriteFile(path, []byte(begin+"\nno end\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ReplaceSection(path, "x", "b"); err == nil {
		t.Error("a section without its end marker was accepted")
	}
}

func TestTable(t *testing.T) {
	tb := &Table{Header: []string{"name", "n"}, Rows: [][]string{{"a|b", "1"}, {"c", "22"}}, Right: map[int]bool{1: true}}
	if got, want := tb.Markdown(), "| name | n |\n|---|---:|\n| a\\|b | 1 |\n| c | 22 |\n"; got != want {
		t.Errorf("Markdown:\n%s\nwant\n%s", got, want)
	}
	if got, want := tb.Text(), "name   n\na|b    1\nc     22\n"; got != want {
		t.Errorf("Text:\n%q\nwant\n%q", got, want)
	}
}

// TestChart checks that the SVG is well-formed XML with one bar per present value.
func TestChart(t *testing.T) {
	for _, log := range []bool{false, true} {
		c := &Chart{
			Title: "t & <b>", YLabel: "ops/s", Log: log,
			Groups: []string{"fillseq", "readseq", "fill100K"},
			Series: []Series{
				{Name: "strata", Color: "#d62728", Values: []float64{1e6, 5e6, 3000}},
				{Name: "pebble", Color: "#2ca02c", Values: []float64{1.1e6, math.NaN(), 0}},
			},
		}
		svg := string(c.SVG())
		dec := xml.NewDecoder(strings.NewReader(svg))
		for {
			if _, err := dec.Token(); err != nil {
				if err.Error() != "EOF" {
					t.Fatalf("log=%v: bad XML: %v\n%s", log, err, svg)
				}
				break
			}
		}
		if n := strings.Count(svg, "<title>"); n != 4 {
			t.Errorf("log=%v: %d bars, want 4", log, n)
		}
	}
	if !WantLog([]float64{3000, 5e6}) || WantLog([]float64{1e6, 2e6, 0}) {
		t.Error("WantLog")
	}
	if formatSI(2000) != "2k" || formatSI(1.5e6) != "1.5M" || formatCount(1234567) != "1,234,567" {
		t.Error("formatting", formatSI(2000), formatSI(1.5e6), formatCount(1234567))
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"fillseq,readrandom": "fillseq,readrandom",
		"/tmp/my dir":        "'/tmp/my dir'",
		"it's":               `'it'\''s'`,
		"":                   "''",
	} {
		if got := ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestResolveSection(t *testing.T) {
	for _, c := range []struct {
		section string
		num     int
		want    string // "" for an error
	}{
		{"", 1_000_000, "full"}, {"", 100_000, "smoke"},
		{"full", 100_000, "full"}, {"smoke", 1_000_000, "smoke"},
		{"alternatives", 1_000_000, "alternatives"}, {"alternatives", 100_000, "alternatives-smoke"},
		{"alternatives-smoke", 1_000_000, "alternatives-smoke"},
		{"other", 1_000_000, ""}, {"full-smoke", 1_000_000, ""},
	} {
		got, err := ResolveSection(c.section, c.num, "alternatives")
		if c.want == "" {
			if err == nil {
				t.Errorf("ResolveSection(%q, %d) = %q, want an error", c.section, c.num, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ResolveSection(%q, %d) = %q, %v; want %q", c.section, c.num, got, err, c.want)
		}
		if IsSmoke(got) != strings.HasSuffix(c.want, "smoke") {
			t.Errorf("IsSmoke(%q) = %v", got, IsSmoke(got))
		}
	}
	if _, err := ResolveSection("alternatives", 1_000_000); err == nil {
		t.Error("amp's sections accepted alternatives")
	}
}
