package main

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stratadb/strata/internal/batch"
	"github.com/stratadb/strata/wal"
)

// goldenCase is one run of sstdump whose transcript is compared with a golden file.
type goldenCase struct {
	name string
	args []string
	code int // the exit status it must return
}

func runGolden(t *testing.T, cases []goldenCase, tmp string) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runCmd(c.args...)
			if r.code != c.code {
				t.Errorf("exit status %d, want %d\nstderr: %s", r.code, c.code, r.stderr)
			}
			checkGolden(t, c.name, r.transcript(c.args, tmp))
		})
	}
}

// TestGoldenCLevelDB runs the commands over the tables and log written by C++ leveldb 1.23.
func TestGoldenCLevelDB(t *testing.T) {
	tbl := func(name string) string { return tablesDir + "/" + name + ".ldb" }
	cases := []goldenCase{
		{"scan-plain", []string{"scan", "--limit", "12", tbl("plain")}, 0},
		{"scan-internal-keys", []string{"scan", "--limit", "25", "--max-value", "16", tbl("internal-keys")}, 0},
		{"scan-internal-keys-range", []string{"scan", "--from", "a", "--to", "ab", "--max-value", "16", tbl("internal-keys")}, 0},
		{"scan-internal-keys-json", []string{"scan", "--format=json", "--limit", "8", "--max-value", "16", tbl("internal-keys")}, 0},
		{"scan-internal-keys-raw", []string{"scan", "--raw", "--limit", "4", "--max-value", "8", tbl("internal-keys")}, 0},
		{"scan-bigkeys-hex", []string{"scan", "--hex", "--keys-only", "--limit", "6", tbl("bigkeys")}, 0},
		{"scan-bigkeys-json", []string{"scan", "--format", "json", "--limit", "6", tbl("bigkeys")}, 0},
		{"scan-bigkeys-escaped", []string{"scan", "--limit", "6", "--max-value", "8", tbl("bigkeys")}, 0},
		{"scan-bigkeys-from-escaped", []string{"scan", "--keys-only", "--limit", "3", "--from", `\xfe`, tbl("bigkeys")}, 0},
		{"scan-single-empty-key", []string{"scan", tbl("single-empty-key")}, 0},
		{"scan-single-empty-key-json", []string{"scan", "--format=json", tbl("single-empty-key")}, 0},
		{"scan-empty", []string{"scan", tbl("empty")}, 0},
		{"scan-snappy-bloom-many-keys", []string{"scan", "--keys-only", "--from", "zz", tbl("snappy-bloom-many")}, 0},
		{"scan-bigvalues-keys", []string{"scan", "--keys-only", "--max-value", "10", tbl("bigvalues-snappy")}, 0},
		{"scan-bigvalues-default", []string{"scan", "--limit", "2", tbl("bigvalues-snappy")}, 0}, // values cut at 256 bytes
		{"auto-table", []string{tbl("single-empty-key")}, 0},
		{"check-leveldb-dir", []string{"check", tablesDir}, 0},
		{"check-no-order", []string{"check", "--no-order", tbl("snappy")}, 0},
		{"log-leveldb", []string{"log", "--max-value", "24", walDir + "/000003.log"}, 0},
		{"log-leveldb-hex", []string{"log", "--hex", "--max-value", "4", walDir + "/000003.log"}, 0},
		{"manifest-leveldb", []string{"manifest", walDir + "/MANIFEST-000002"}, 0},
		{"check-wal-dir", []string{"check", walDir}, 0},
		{"auto-manifest", []string{walDir + "/MANIFEST-000002"}, 0},
		{"auto-wal-dir-not-db", []string{walDir}, 2},
		{"props-internal-keys-json", []string{"props", "--format=json", tbl("internal-keys")}, 0},
		{"props-empty-json", []string{"props", "--format=json", tbl("empty")}, 0},
		{"log-leveldb-json", []string{"log", "--format=json", "--max-value", "8", walDir + "/000003.log"}, 0},
		{"manifest-leveldb-json", []string{"manifest", "--format=json", walDir + "/MANIFEST-000002"}, 0},
		{"check-leveldb-dir-json", []string{"check", "--format=json", tablesDir}, 0},
		{"check-wal-dir-json", []string{"check", "--format=json", walDir}, 0},
	}
	for _, name := range []string{"empty", "single-empty-key", "plain", "snappy", "bloom", "snappy-bloom-many",
		"restart1", "block1k", "bigkeys", "bigvalues-snappy", "internal-keys"} {
		cases = append(cases, goldenCase{"props-" + name, []string{"props", tbl(name)}, 0})
	}
	cases = append(cases, goldenCase{"props-bigkeys-hex", []string{"props", "--hex", tbl("bigkeys")}, 0})
	runGolden(t, cases, "")
}

// TestGoldenBroken runs the commands over the damaged copies of a C++ table.
func TestGoldenBroken(t *testing.T) {
	b := func(name string) string { return brokenDir + "/" + name + ".ldb" }
	cases := []goldenCase{
		{"check-broken-dir", []string{"check", brokenDir}, 1},
		{"props-flipped-data-byte", []string{"props", b("flipped-data-byte")}, 1},
		{"props-bad-magic", []string{"props", b("bad-magic")}, 2}, // not a table: wrong input
		{"props-lying-handle-offset", []string{"props", b("lying-handle-offset")}, 1},
		{"scan-flipped-data-byte", []string{"scan", "--keys-only", "--limit", "5", b("flipped-data-byte")}, 1},
		{"scan-lying-handle-size", []string{"scan", "--keys-only", "--from", "z", b("lying-handle-size")}, 1},
		{"scan-out-of-order-keys", []string{"scan", "--keys-only", "--limit", "14", b("out-of-order-keys")}, 0},
		{"scan-bad-compression-type", []string{"scan", "--keys-only", "--limit", "2", b("bad-compression-type")}, 1},
		{"scan-truncated-footer", []string{"scan", b("truncated-footer")}, 2},
		{"scan-too-short", []string{"scan", b("too-short")}, 2},
		{"auto-bad-magic", []string{b("bad-magic")}, 2},
		{"check-broken-dir-json", []string{"check", "--format=json", brokenDir}, 1},
		{"props-flipped-data-byte-json", []string{"props", "--format=json", b("flipped-data-byte")}, 1},
	}
	for _, name := range []string{"bad-magic", "truncated-footer", "too-short", "flipped-data-byte", "lying-handle-offset",
		"lying-handle-size", "bad-compression-type", "bad-restart-count", "out-of-order-keys"} {
		cases = append(cases, goldenCase{"check-" + name, []string{"check", b(name)}, 1})
	}
	runGolden(t, cases, "")
}

// brokenLogs writes logs derived from the C++ log fixture into dir: a torn tail (the file cut
// inside its 200 KiB record), a corrupt record (a payload byte flipped, checksum stale), and a
// record whose checksum is right but whose WriteBatch is not (its count says one entry more
// than it holds).
func brokenLogs(t *testing.T, dir string) {
	t.Helper()
	src, err := os.ReadFile(walDir + "/000003.log")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("torn.log", src[:300000])
	write("torn-last.log", src[:len(src)-5])

	bad := append([]byte(nil), src...)
	bad[84+7+20] ^= 0x40 // inside the payload of the record at offset 84
	write("corrupt.log", bad)

	var rec batch.Repr
	rec.AppendPut([]byte("a"), []byte("1"))
	rec.SetSeq(7)
	rec.SetCount(2)
	f, err := os.Create(filepath.Join(dir, "bad-batch.log"))
	if err != nil {
		t.Fatal(err)
	}
	w := wal.NewWriter(f)
	var good batch.Repr
	good.AppendPut([]byte("before"), []byte("ok"))
	good.SetSeq(5)
	for _, r := range [][]byte{good, rec} {
		if err := w.AddRecord(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestGoldenBrokenLogs runs log and check over damaged logs.
func TestGoldenBrokenLogs(t *testing.T) {
	dir := t.TempDir()
	brokenLogs(t, dir)
	p := func(name string) string { return filepath.Join(dir, name) }
	runGolden(t, []goldenCase{
		{"log-torn", []string{"log", "--max-value", "8", p("torn.log")}, 0},
		{"log-torn-last", []string{"log", "--max-value", "8", p("torn-last.log")}, 0},
		{"log-corrupt", []string{"log", "--max-value", "8", p("corrupt.log")}, 1},
		{"log-bad-batch", []string{"log", p("bad-batch.log")}, 1},
		{"check-broken-logs", []string{"check", dir}, 1},
		{"check-broken-logs-json", []string{"check", "--format=json", dir}, 1},
		{"log-torn-json", []string{"log", "--format=json", "--max-value", "8", p("torn-last.log")}, 0},
		{"log-bad-batch-json", []string{"log", "--format=json", p("bad-batch.log")}, 1},
	}, dir)
}

// strataDB is a DB written by writeStrataDB, shared by the tests that only read it.
var strataDB struct {
	once sync.Once
	dir  string
}

// strataDir returns the directory of a DB written by writeStrataDB (written once per test run).
func strataDir(t *testing.T) string {
	t.Helper()
	strataDB.once.Do(func() {
		dir, err := os.MkdirTemp("", "sstdump-strata-")
		if err != nil {
			t.Fatal(err)
		}
		writeStrataDB(t, dir)
		strataDB.dir = dir
	})
	if strataDB.dir == "" {
		t.Fatal("writing the Strata DB failed")
	}
	return strataDB.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if strataDB.dir != "" {
		os.RemoveAll(strataDB.dir)
	}
	os.Exit(code)
}

// TestGoldenStrata runs the commands over a DB written by Strata.
func TestGoldenStrata(t *testing.T) {
	dir := strataDir(t)
	p := func(name string) string { return filepath.Join(dir, name) }
	runGolden(t, []goldenCase{
		{"strata-db", []string{"db", dir}, 0},
		{"strata-db-check", []string{"db", dir, "--check"}, 0},
		{"strata-db-hex", []string{"db", "--hex", dir}, 0},
		{"strata-auto-dir", []string{dir}, 0},
		{"strata-auto-current", []string{p("CURRENT")}, 0},
		{"strata-check-dir", []string{"check", dir}, 0},
		{"strata-manifest", []string{"manifest", p("MANIFEST-000002")}, 0},
		{"strata-scan-l0", []string{"scan", p("000012.ldb")}, 0},
		{"strata-scan-l1-json", []string{"scan", "--format=json", "--limit", "5", p("000010.ldb")}, 0},
		{"strata-scan-l2-range", []string{"scan", "--from", "key-0100", "--to", "key-0110", p("000008.ldb")}, 0},
		{"strata-props-l2", []string{"props", p("000008.ldb")}, 0},
		{"strata-log", []string{"log", p("000011.log")}, 0},
		{"strata-auto-log", []string{p("000011.log")}, 0},
		{"strata-auto-table", []string{p("000012.ldb")}, 0},
		{"strata-auto-manifest", []string{p("MANIFEST-000002")}, 0},
		{"strata-db-json", []string{"db", "--format=json", dir}, 0},
		{"strata-db-check-json", []string{"db", "--check", "--format=json", dir}, 0},
		{"strata-manifest-json", []string{"manifest", "--format=json", p("MANIFEST-000002")}, 0},
		{"strata-log-json", []string{"log", "--format=json", "--max-value", "16", p("000011.log")}, 0},
	}, dir)
}

// TestGoldenStrataBroken runs db --check over damaged copies of the Strata DB: a live table
// missing (the MANIFEST names a file that is not there), files the MANIFEST does not reference,
// a live table with a flipped byte, CURRENT naming a missing MANIFEST, and no CURRENT.
func TestGoldenStrataBroken(t *testing.T) {
	src := strataDir(t)
	tmp := t.TempDir()
	mk := func(name string, edit func(dir string)) string {
		dir := filepath.Join(tmp, name)
		copyDir(t, src, dir)
		edit(dir)
		return dir
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	missing := mk("missing-table", func(dir string) { must(os.Remove(filepath.Join(dir, "000010.ldb"))) })
	extra := mk("unreferenced", func(dir string) {
		b, err := os.ReadFile(filepath.Join(dir, "000012.ldb"))
		must(err)
		must(os.WriteFile(filepath.Join(dir, "000009.ldb"), b, 0o644))
		must(os.WriteFile(filepath.Join(dir, "000003.log"), nil, 0o644))
		must(os.WriteFile(filepath.Join(dir, "MANIFEST-000001"), nil, 0o644))
	})
	flipped := mk("flipped", func(dir string) {
		path := filepath.Join(dir, "000008.ldb")
		b, err := os.ReadFile(path)
		must(err)
		b[100] ^= 1
		must(os.WriteFile(path, b, 0o644))
	})
	noManifest := mk("no-manifest", func(dir string) { must(os.Remove(filepath.Join(dir, "MANIFEST-000002"))) })
	noCurrent := mk("no-current", func(dir string) { must(os.Remove(filepath.Join(dir, "CURRENT"))) })
	badCurrent := mk("bad-current", func(dir string) {
		must(os.WriteFile(filepath.Join(dir, "CURRENT"), []byte("MANIFEST-000002"), 0o644))
	})
	runGolden(t, []goldenCase{
		{"strata-missing-table-db", []string{"db", missing}, 0},
		{"strata-missing-table-db-check", []string{"db", "--check", missing}, 1},
		{"strata-unreferenced-db-check", []string{"db", "--check", extra}, 0},
		{"strata-flipped-db-check", []string{"db", "--check", flipped}, 1},
		{"strata-no-manifest-db", []string{"db", noManifest}, 1},
		{"strata-no-current-db", []string{"db", noCurrent}, 2},
		{"strata-bad-current-db", []string{"db", badCurrent}, 1},
		{"strata-missing-table-db-check-json", []string{"db", "--check", "--format=json", missing}, 1},
		{"strata-unreferenced-db-check-json", []string{"db", "--check", "--format=json", extra}, 0},
	}, tmp)
}

// TestGoldenUsage covers help, usage errors and unreadable files.
func TestGoldenUsage(t *testing.T) {
	dir := t.TempDir()
	unknown := filepath.Join(dir, "mystery.bin")
	if err := os.WriteFile(unknown, []byte(strings.Repeat("not a leveldb file\n", 10)), 0o644); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(dir, "LOCK")
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []goldenCase{
		{"usage-none", nil, 2},
		{"check-empty-dir", []string{"check", empty}, 2},
		{"check-mistyped-dir", []string{"check", filepath.Join(dir, "no-such-dir")}, 2},
		{"usage-bad-format-check", []string{"check", "--format=yaml", empty}, 2},
		{"usage-max-value-and-full-values", []string{"scan", "--max-value", "8", "--full-values", "x.ldb"}, 2},
		{"usage-negative-max-value", []string{"log", "--max-value", "-1", "x.log"}, 2},
		{"usage-help", []string{"help"}, 0},
		{"usage-h", []string{"-h"}, 0},
		{"usage-help-unknown", []string{"help", "bogus"}, 2},
		{"usage-unknown-command", []string{"bogus", "x"}, 2},
		{"usage-unknown-flag", []string{"scan", "--bogus", "x.ldb"}, 2},
		{"usage-missing-arg", []string{"scan"}, 2},
		{"usage-too-many", []string{"props", "a", "b"}, 2},
		{"usage-bad-format", []string{"scan", "--format=xml", "x.ldb"}, 2},
		{"usage-bad-limit", []string{"scan", "--limit", "-1", "x.ldb"}, 2},
		{"usage-bad-from", []string{"scan", "--from", `\q`, "x.ldb"}, 2},
		{"usage-bad-hex-from", []string{"scan", "--hex", "--from", "zz", "x.ldb"}, 2},
		{"usage-db-not-dir", []string{"db", walDir + "/000003.log"}, 2},
		{"unreadable-missing", []string{"scan", filepath.Join(dir, "nope.ldb")}, 2},
		{"unreadable-missing-auto", []string{filepath.Join(dir, "nope")}, 2},
		{"unreadable-dir-as-table", []string{"scan", dir}, 2},
		{"unreadable-missing-check", []string{"check", filepath.Join(dir, "nope.ldb"), tablesDir + "/empty.ldb"}, 2},
		{"auto-unknown", []string{unknown}, 2},
		{"auto-lock", []string{lock}, 2},
		{"log-not-a-log", []string{"log", "--max-value", "8", tablesDir + "/plain.ldb"}, 1},
		{"log-text-file", []string{"log", unknown}, 0},
		{"manifest-of-a-log", []string{"manifest", walDir + "/000003.log"}, 1},
		{"scan-of-a-log", []string{"scan", walDir + "/000003.log"}, 2},
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		// A device would read as an endless log of zeroed blocks.
		cases = append(cases, goldenCase{"unreadable-device", []string{"log", "/dev/zero"}, 2})
	}
	for _, name := range commandOrder {
		cases = append(cases, goldenCase{"help-" + name, []string{"help", name}, 0})
	}
	runGolden(t, cases, dir)
}

// TestDashH checks that -h and --help after any command print what `sstdump help COMMAND`
// prints, and exit 0.
func TestDashH(t *testing.T) {
	for _, name := range commandOrder {
		want := runCmd("help", name)
		for _, h := range []string{"-h", "--help", "-help"} {
			for _, args := range [][]string{{name, h}, {name, "x", h}} {
				got := runCmd(args...)
				if got != want {
					t.Errorf("sstdump %s: %+v, want %+v", strings.Join(args, " "), got, want)
				}
			}
		}
	}
	if got, want := runCmd("--help"), runCmd("help"); got != want {
		t.Errorf("sstdump --help: %+v, want %+v", got, want)
	}
}
