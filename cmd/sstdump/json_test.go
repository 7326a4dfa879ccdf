package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestJSONEverywhere runs every command with --format=json and checks that stdout is JSON
// Lines: each line one object, with a "type" naming it wherever a command prints more than one
// kind of object.
func TestJSONEverywhere(t *testing.T) {
	dir := strataDir(t)
	p := func(name string) string { return filepath.Join(dir, name) }
	types := map[string]bool{"record": true, "torn_tail": true, "summary": true, "edit": true, "state": true,
		"problem": true, "note": true, "suppressed": true, "file": true, "total": true, "db": true, "db_check": true}
	for _, c := range []struct {
		args     []string
		withType bool // every line has a known "type"
	}{
		{[]string{"scan", p("000008.ldb")}, false},
		{[]string{"props", p("000008.ldb")}, false},
		{[]string{"props", brokenDir + "/flipped-data-byte.ldb"}, false},
		{[]string{"log", p("000011.log")}, true},
		{[]string{"log", "--hex", walDir + "/000003.log"}, true},
		{[]string{"manifest", p("MANIFEST-000002")}, true},
		{[]string{"check", dir, brokenDir, tablesDir}, true},
		{[]string{"db", dir}, true},
		{[]string{"db", "--check", "--hex", dir}, true},
	} {
		args := append([]string{c.args[0], "--format=json"}, c.args[1:]...)
		r := runCmd(args...)
		if r.code > exitProblem {
			t.Fatalf("sstdump %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
		}
		lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		if len(lines) == 0 || lines[0] == "" {
			t.Fatalf("sstdump %s: no output", strings.Join(args, " "))
		}
		for _, line := range lines {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("sstdump %s: %q: %v", strings.Join(args, " "), line, err)
			}
			if typ, _ := m["type"].(string); c.withType && !types[typ] {
				t.Errorf("sstdump %s: %q: no known type", strings.Join(args, " "), line)
			}
		}
	}
}

// TestValuesCutByDefault: printed as text, a value is cut at defaultMaxValue bytes unless
// --full-values (or --max-value 0) asks for all of it; JSON gives whole values.
func TestValuesCutByDefault(t *testing.T) {
	table := tablesDir + "/bigvalues-snappy.ldb"
	cut := runCmd("scan", "--hex", "--limit", "3", table)
	full := runCmd("scan", "--hex", "--limit", "3", "--full-values", table)
	zero := runCmd("scan", "--hex", "--limit", "3", "--max-value", "0", table)
	js := runCmd("scan", "--hex", "--limit", "3", "--format=json", table)
	if cut.code != 0 || full.code != 0 || zero.code != 0 || js.code != 0 {
		t.Fatal(cut, full, zero, js)
	}
	if full.stdout != zero.stdout {
		t.Error("--full-values and --max-value 0 differ")
	}
	fullLines := strings.Split(strings.TrimSuffix(full.stdout, "\n"), "\n")
	for i, line := range strings.Split(strings.TrimSuffix(cut.stdout, "\n"), "\n") {
		key, value, _ := strings.Cut(line, " -> ")
		whole := strings.TrimPrefix(fullLines[i], key+" -> ")
		if len(whole) <= 2*defaultMaxValue {
			t.Fatalf("value %d is only %d hex digits: pick a table with bigger values", i, len(whole))
		}
		want := whole[:2*defaultMaxValue] + "...(+"
		if !strings.HasPrefix(value, want) || !strings.HasSuffix(value, " bytes)") {
			t.Errorf("entry %d printed as %.80q..., want the first %d bytes and a note", i, value, defaultMaxValue)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(strings.Split(js.stdout, "\n")[i]), &m); err != nil {
			t.Fatal(err)
		}
		if m["value_hex"] != whole || m["value_len"] != nil {
			t.Errorf("JSON entry %d: value cut", i)
		}
	}
	if r := runCmd("log", walDir+"/000003.log"); !strings.Contains(r.stdout, "...(+204544 bytes)") {
		t.Errorf("log does not cut its 200 KiB value at %d bytes:\n%.2000s", defaultMaxValue, r.stdout)
	}
}
