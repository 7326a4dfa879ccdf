package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/db"
	"github.com/stratadb/strata/internal/crc"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/testutil/testcmp"
	"github.com/stratadb/strata/sstable"
)

// levelDBFixture is a DB that C++ leveldb 1.23 wrote (TestCompatWriteLevelDBFixture, under
// the cleveldb build tag, writes it again).
const levelDBFixture = "testdata/leveldb-db"

// compatCase is one DB that compat judges: build writes it into a directory of its own; compat
// must exit with code and print want. C++ leveldb 1.23 must agree with the verdict
// (TestCompatAgreesWithCLevelDB): it opens a DB compat finds compatible and reads every key,
// and fails on the others.
type compatCase struct {
	name     string
	build    func(t *testing.T, dir string)
	code     int
	want     string
	noGolden bool // the output is not the same from run to run
	// strataRefuses: Strata, unlike leveldb, does not open the DB (it reads a table through
	// the file's size, not the MANIFEST's), so C++ leveldb's keys are compared with those
	// Strata reads from the DB before the damage.
	strataRefuses bool
}

// compatCases are the good DBs and, for each thing leveldb 1.23 needs, a DB that lacks it: a
// copy of the Strata DB of writeStrataDB with one file damaged, or a DB written for the case.
func compatCases() []compatCase {
	return []compatCase{
		{name: "Strata", build: strataCopy(nil), want: "compatible with leveldb 1.23: it can open the DB and read every key"},
		{name: "StrataDefaults", build: writeDefaultsDB, want: "compatible with leveldb 1.23: it can open", noGolden: true},
		{name: "LevelDB", build: func(t *testing.T, dir string) { copyDir(t, levelDBFixture, dir) }, want: "(checked CURRENT, MANIFEST-"},
		{name: "OtherFilter", build: writeOtherFilterDB, want: `note: meta block "filter.test.Filter": leveldb 1.23 ignores it`},
		{name: "LongerTable", build: strataCopy(func(t *testing.T, dir string) {
			appendFile(t, filepath.Join(dir, "000012.ldb"), make([]byte, 10))
		}), want: "000012.ldb: note: 636 bytes, but the MANIFEST records 626", strataRefuses: true},
		{name: "TornLog", build: strataCopy(func(t *testing.T, dir string) {
			truncateFile(t, filepath.Join(dir, "000011.log"), 5)
		}), want: "000011.log: note: offset"},
		{name: "Unreferenced", build: strataCopy(func(t *testing.T, dir string) {
			copyFile(t, filepath.Join(dir, "000012.ldb"), filepath.Join(dir, "000009.ldb"))
		}), want: "000009.ldb: note: not referenced"},

		{name: "CustomComparator", build: writeReverseDB, code: 1,
			want: `comparator "test.Reverse": stock leveldb 1.23 knows only "leveldb.BytewiseComparator"`},
		{name: "UnknownCompression", build: strataCopy(func(t *testing.T, dir string) {
			setBlockType(t, filepath.Join(dir, "000008.ldb"), 3, 2)
		}), code: 1, want: "data block 3: unknown compression type 2"},
		{name: "MissingTable", build: strataCopy(func(t *testing.T, dir string) {
			removeFile(t, filepath.Join(dir, "000010.ldb"))
		}), code: 1, want: "000010.ldb: missing: L1 table 000010"},
		{name: "CurrentWithoutNewline", build: strataCopy(func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "CURRENT"), []byte("MANIFEST-000002"))
		}), code: 1, want: "CURRENT: does not end with a newline, which leveldb 1.23 requires"},
		{name: "CurrentNamesMissingManifest", build: strataCopy(func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "CURRENT"), []byte("MANIFEST-000099\n"))
		}), code: 1, want: "CURRENT: names MANIFEST-000099, which does not exist"},
		{name: "NoCurrent", build: strataCopy(func(t *testing.T, dir string) {
			removeFile(t, filepath.Join(dir, "CURRENT"))
		}), code: 1, want: "CURRENT: does not exist: leveldb 1.23 finds no DB here"},
		{name: "DamagedManifest", build: strataCopy(func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, "MANIFEST-000002"), 20)
		}), code: 1, want: "MANIFEST-000002: offset 0: checksum mismatch"},
		{name: "BadBlockChecksum", build: strataCopy(func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, "000008.ldb"), 700)
		}), code: 1, want: "000008.ldb: offset 635: data block 2: checksum mismatch"},
		{name: "BadLogChecksum", build: strataCopy(func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, "000011.log"), 20)
		}), code: 1, want: "000011.log: offset 0: checksum mismatch"},
		{name: "ShortTable", build: strataCopy(func(t *testing.T, dir string) {
			truncateFile(t, filepath.Join(dir, "000012.ldb"), 10)
		}), code: 1, want: "000012.ldb: 616 bytes, but the MANIFEST records 626: cut short"},
		{name: "BadMagic", build: strataCopy(func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, "000012.ldb"), -1)
		}), code: 1, want: "000012.ldb: offset 578: bad magic number"},
	}
}

// TestCompat runs compat over every case, in text (compared with its golden file) and in
// JSON (whose last object must give the verdict the exit status gives).
func TestCompat(t *testing.T) {
	tmp := t.TempDir()
	for _, c := range compatCases() {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(tmp, c.name)
			c.build(t, dir)
			args := []string{"compat", dir}
			r := runCmd(args...)
			if r.code != c.code || r.stderr != "" {
				t.Errorf("exit status %d, want %d; stderr %q", r.code, c.code, r.stderr)
			}
			if !strings.Contains(r.stdout, c.want) {
				t.Errorf("output does not hold %q:\n%s", c.want, r.stdout)
			}
			if c.noGolden {
				t.Log("\n" + r.transcript(args, tmp))
			} else {
				checkGolden(t, "compat-"+kebab(c.name), r.transcript(args, tmp))
			}
			for _, flag := range []string{"--format=json", "--json"} {
				j := runCmd("compat", flag, dir)
				if j.code != c.code {
					t.Errorf("%s: exit status %d, want %d", flag, j.code, c.code)
				}
				checkCompatJSON(t, j.stdout, c.code == 0)
			}
		})
	}
}

// checkCompatJSON checks compat's JSON Lines: every line an object with a type, findings
// naming their file, and a last "compat" object with the verdict compatible and as many
// problems as there were problem objects.
func checkCompatJSON(t *testing.T, out string, compatible bool) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	problems := 0
	for i, line := range lines {
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, line)
		}
		typ, _ := obj["type"].(string)
		if i == len(lines)-1 {
			if typ != "compat" {
				t.Fatalf("last line is not the compat object: %s", line)
			}
			if obj["compatible"] != compatible || obj["problems"] != float64(problems) {
				t.Errorf("verdict %s, want compatible %v and %d problems", line, compatible, problems)
			}
			continue
		}
		if typ != "problem" && typ != "note" {
			t.Errorf("line %d: type %q, want problem or note", i+1, typ)
		}
		if file, _ := obj["file"].(string); file == "" {
			t.Errorf("line %d names no file: %s", i+1, line)
		}
		if typ == "problem" {
			problems++
		}
	}
}

// TestCompatJSONGolden keeps the JSON of a compatible DB, C++ leveldb's, and two that are not.
func TestCompatJSONGolden(t *testing.T) {
	tmp := t.TempDir()
	var golden []goldenCase
	for _, c := range compatCases() {
		switch c.name {
		case "Strata", "LevelDB", "CustomComparator", "UnknownCompression":
			dir := filepath.Join(tmp, c.name)
			c.build(t, dir)
			golden = append(golden, goldenCase{"compat-" + kebab(c.name) + "-json", []string{"compat", "--format=json", dir}, c.code})
		}
	}
	runGolden(t, golden, tmp)
}

// TestCompatWrongInput checks that what is not a DB directory is wrong input (status 2, no
// verdict): a file, a directory that does not exist, one without DB files, and bad flags.
func TestCompatWrongInput(t *testing.T) {
	tmp := t.TempDir()
	empty := filepath.Join(tmp, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(empty, "LOCK"), nil)
	writeFile(t, filepath.Join(empty, "notes.txt"), []byte("not a DB\n"))
	runGolden(t, []goldenCase{
		{"compat-not-a-directory", []string{"compat", walDir + "/000003.log"}, 2},
		{"compat-missing-directory", []string{"compat", filepath.Join(tmp, "nope")}, 2},
		{"compat-not-a-db", []string{"compat", empty}, 2},
		{"compat-wal-fixture-without-current", []string{"compat", walDir}, 1},
		{"compat-json-and-text", []string{"compat", "--json", "--format=text", empty}, 2},
	}, tmp)
	for _, args := range [][]string{{"compat", empty}, {"compat", "--json", empty}} {
		if r := runCmd(args...); r.stdout != "" {
			t.Errorf("sstdump %s printed %q; wrong input has no verdict", strings.Join(args, " "), r.stdout)
		}
	}
}

// kebab turns a case name into a golden file name: "BadLogChecksum" -> "bad-log-checksum".
func kebab(name string) string {
	var b strings.Builder
	for i, r := range name {
		if r >= 'A' && r <= 'Z' {
			if i > 0 && !(name[i-1] >= 'A' && name[i-1] <= 'Z') {
				b.WriteByte('-')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// strataCopy returns a build that copies the Strata DB of writeStrataDB and damages the copy.
func strataCopy(damage func(t *testing.T, dir string)) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		copyDir(t, strataDir(t), dir)
		if damage != nil {
			damage(t, dir)
		}
	}
}

// writeDefaultsDB writes a DB with Strata's default options: 3000 keys flushed and compacted
// into tables, overwrites and deletes, and writes left in the log.
func writeDefaultsDB(t *testing.T, dir string) {
	writeCompatDB(t, dir, nil)
}

// writeReverseDB writes a DB whose comparator is testcmp.Reverse, "test.Reverse".
func writeReverseDB(t *testing.T, dir string) {
	writeCompatDB(t, dir, &db.Options{Comparator: testcmp.Reverse{}})
}

// writeCompatDB writes keys with opts: some flushed to tables, some left in the log.
func writeCompatDB(t *testing.T, dir string, opts *db.Options) {
	t.Helper()
	d, err := db.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	must := fatalOn(t)
	for i := 0; i < 3000; i++ {
		must(d.Put(strataKey(i), strataValue(i, 0), nil))
	}
	must(d.CompactRange(nil, nil))
	for i := 0; i < 3000; i += 7 {
		must(d.Delete(strataKey(i), nil))
	}
	for i := 0; i < 100; i++ {
		must(d.Put(strataKey(i*13), strataValue(i, 1), nil))
	}
	must(d.Close())
}

// renamedFilter is leveldb's bloom filter under another name, which leveldb 1.23 ignores.
type renamedFilter struct{ sstable.FilterPolicy }

func (renamedFilter) Name() string { return "test.Filter" }

// writeOtherFilterDB writes a DB of one table whose filter is renamedFilter's, with a
// MANIFEST that names it.
func writeOtherFilterDB(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := sstable.NewWriter(&buf, sstable.WriterOptions{Comparator: keys.NewInternalComparator(keys.Bytewise),
		Filter: renamedFilter{sstable.NewBloomPolicy(10)}, FilterKey: keys.UserKey, BlockSize: 512})
	for i := 0; i < 100; i++ {
		if err := w.Add(keys.AppendInternalKey(nil, strataKey(i), keys.SeqNum(i+1), keys.KindSet), strataValue(i, 0)); err != nil {
			t.Fatal(err)
		}
	}
	md, err := w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filenames.Path(dir, filenames.Table, 5), buf.Bytes())
	var e compaction.VersionEdit
	e.SetComparator(keys.BytewiseName)
	e.SetLogNum(6)
	e.SetNextFileNum(7)
	e.SetLastSeq(100)
	e.AddFile(0, &compaction.FileMetadata{Num: 5, Size: md.Size, Smallest: md.Smallest, Largest: md.Largest})
	writeManifest(t, filepath.Join(dir, "MANIFEST-000004"), &e)
	writeFile(t, filepath.Join(dir, "CURRENT"), []byte("MANIFEST-000004\n"))
}

// setBlockType rewrites the compression type in the trailer of data block i of the table at
// path, and the trailer's checksum to match, so that only the type is wrong.
func setBlockType(t *testing.T, path string, i int, typ byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tb, err := openTable(f, path, int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	h := tb.index[i].h
	end := h.Offset + h.Size
	b[end] = typ
	binary.LittleEndian.PutUint32(b[end+1:], crc.Mask(crc.Extend(crc.Value(b[h.Offset:end]), []byte{typ})))
	writeFile(t, path, b)
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func removeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, src, dst string) { writeFile(t, dst, readFile(t, src)) }

func appendFile(t *testing.T, path string, more []byte) {
	writeFile(t, path, append(readFile(t, path), more...))
}

// truncateFile cuts n bytes off the end of the file.
func truncateFile(t *testing.T, path string, n int) {
	b := readFile(t, path)
	writeFile(t, path, b[:len(b)-n])
}

// flipByte flips a bit of the byte at off (from the end when negative).
func flipByte(t *testing.T, path string, off int) {
	b := readFile(t, path)
	if off < 0 {
		off += len(b)
	}
	b[off] ^= 0x10
	writeFile(t, path, b)
}
