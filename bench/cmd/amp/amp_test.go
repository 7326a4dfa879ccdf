package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stratadb/strata/bench/internal/engine"
	"github.com/stratadb/strata/bench/internal/machine"
	"github.com/stratadb/strata/bench/internal/report"
)

// TestMeasure runs the workload in this process at a small size on every engine and checks the
// figures are in the range any LSM tree gives: every put reaches the WAL, and the same keys with
// values of the same size take about the same space after each compaction.
func TestMeasure(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc/self/io")
	}
	c, err := parseFlags([]string{"--num", "5000"})
	if err != nil {
		t.Fatal(err)
	}
	var rs []result
	for _, e := range engine.All() {
		r, err := measure(c, e, filepath.Join(t.TempDir(), "db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: write amp %.2f, space amp %.3f, tables %d then %d, dir %d", e.Name, r.writeAmp(), r.spaceAmp(), r.TablesFirst, r.TablesSecond, r.DirBytes)
		if r.UserBytes != 3*5000*116 {
			t.Errorf("%s: user bytes %d", e.Name, r.UserBytes)
		}
		if wa := r.writeAmp(); wa < 1 || wa > 20 {
			t.Errorf("%s: write amp %.2f", e.Name, wa)
		}
		if sa := r.spaceAmp(); sa < 0.8 || sa > 1.3 {
			t.Errorf("%s: space amp %.3f", e.Name, sa)
		}
		if len(r.Phases) != 6 {
			t.Errorf("%s: %d phases", e.Name, len(r.Phases))
		}
		rs = append(rs, r)
	}
	doc := filepath.Join(t.TempDir(), "b.md")
	os.WriteFile(doc, []byte("# B\n"), 0o644)
	c.Out = doc
	if err := writeDoc(c, machine.Describe(t.TempDir()), rs); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(doc)
	begin, _ := report.Markers("amp-smoke")
	for _, want := range []string{begin, "Smoke run at --num 5000", "| Strata |", "write amp"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("document lacks %q:\n%s", want, b)
		}
	}
}

func TestParseFlags(t *testing.T) {
	c, err := parseFlags(nil)
	if err != nil || c.num != 1_000_000 || c.Section != "full" || len(c.EngineSet) < 3 {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	if _, err := parseFlags([]string{"--engines", "lmdb"}); err == nil {
		t.Error("unknown engine accepted")
	}
	if _, err := parseFlags([]string{"--section", "half"}); err == nil {
		t.Error("bad section accepted")
	}
}
