package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzSubcommands writes arbitrary bytes to files and runs every command over them in-process:
// as a table, a log and a MANIFEST under their usual names, under a name that says nothing (so
// the kind comes from the content), and as the files of a DB directory whose CURRENT names
// them. Every run must return 0, 1 or 2 and never panic (run reports a recovered panic as an
// internal error, which fails the test).
func FuzzSubcommands(f *testing.F) {
	for _, dir := range []string{tablesDir, brokenDir, walDir} {
		names, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, name := range names {
			b, err := os.ReadFile(name)
			if err != nil || strings.HasSuffix(name, ".txt") {
				continue
			}
			if len(b) > 64<<10 { // keep the seeds quick: the start and the end of big files
				f.Add(b[:32<<10])
				f.Add(b[len(b)-32<<10:])
				continue
			}
			f.Add(b)
		}
	}
	f.Add([]byte{})
	f.Add([]byte("MANIFEST-000001\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		write := func(name string, b []byte) string {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}
		table := write("000005.ldb", data)
		log := write("000006.log", data)
		manifest := write("MANIFEST-000004", data)
		plain := write("blob", data)
		write("CURRENT", []byte("MANIFEST-000004\n"))
		runs := [][]string{
			{"scan", table}, {"scan", "--format=json", "--from", "a", "--to", "z", table}, {"scan", "--hex", "--limit", "3", table},
			{"props", table}, {"check", table}, {"check", "--raw", plain},
			{"log", log}, {"check", log}, {"manifest", manifest}, {"check", manifest},
			{"scan", plain}, {"log", plain}, {"manifest", plain}, {plain}, {table}, {log}, {manifest},
			{"db", dir}, {"db", "--check", dir}, {"check", dir}, {"compat", dir}, {"compat", "--json", dir},
		}
		for _, args := range runs {
			r := runCmd(args...)
			if r.code < 0 || r.code > 2 {
				t.Errorf("sstdump %s: exit status %d", strings.Join(args, " "), r.code)
			}
			if strings.Contains(r.stderr, "internal error") {
				t.Fatalf("sstdump %s: %s", strings.Join(args, " "), r.stderr)
			}
			for _, line := range strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n") {
				if line != "" && !strings.HasPrefix(line, "sstdump: ") && !strings.HasPrefix(line, "usage: ") && !strings.HasPrefix(line, "run 'sstdump help'") {
					t.Fatalf("sstdump %s: stderr line without the program's name: %q", strings.Join(args, " "), line)
				}
			}
		}
	})
}
