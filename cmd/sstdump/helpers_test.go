package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/db"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/vfs"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// Fixtures written by C++ leveldb 1.23, relative to this package.
const (
	tablesDir = "../../sstable/testdata/leveldb"
	brokenDir = "../../sstable/testdata/broken"
	walDir    = "../../wal/testdata/leveldb-1.23"
)

// result is what one run of sstdump printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// runCmd runs sstdump in-process.
func runCmd(args ...string) result {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return result{out.String(), errb.String(), code}
}

// transcript is the golden form of a run: the command, stdout, stderr and the exit status.
// Occurrences of tmp (a temporary directory) are replaced by $TMP so the text is stable.
func (r result) transcript(args []string, tmp string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "$ sstdump %s\n", strings.Join(args, " "))
	b.WriteString(r.stdout)
	if r.stderr != "" {
		b.WriteString("--- stderr:\n")
		b.WriteString(r.stderr)
	}
	fmt.Fprintf(&b, "--- exit status %d\n", r.code)
	s := b.String()
	if tmp != "" {
		s = strings.ReplaceAll(s, tmp, "$TMP")
	}
	return s
}

// checkGolden compares got with testdata/golden/name.txt, or rewrites the file with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".txt")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update to rewrite it after checking the change)\n%s",
			path, diff(string(want), got))
	}
}

// diff shows the first lines where want and got differ.
func diff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\nwant: %q\ngot:  %q", i+1, w, g)
		}
	}
	return "(only line endings differ)"
}

// strataValue is the deterministic value of key i in round r.
func strataValue(i, r int) []byte {
	v := make([]byte, 30+i%60)
	for j := range v {
		v[j] = 'a' + byte((i*7+j+r*3)%26)
	}
	return v
}

func strataKey(i int) []byte { return []byte(fmt.Sprintf("key-%04d", i)) }

// writeLevels builds, through w, the tree that both fixture DBs of this package start from (the
// one writeStrataDB writes with Strata, the one TestCompatWriteLevelDBFixture writes with C++
// leveldb), with keys key(i) and values strataValue(i, round). The DB's write buffer must hold
// everything written, so that only CompactRange flushes and compacts:
//
//  1. keys 0 to n-1, flushed by a CompactRange of everything: the table lands in L2 (nothing
//     above overlaps it);
//  2. every third key overwritten and every seventh deleted, then a CompactRange from key 100
//     to key partialEnd: the flush lands in L1 and is compacted with L2;
//  3. keys 200 to 239 overwritten and flushed by a CompactRange of an empty range (which only
//     flushes the memtable): a table in L1;
//  4. keys 220 to 239 overwritten and flushed the same way: a table in L0 (it overlaps L1).
func writeLevels(t testing.TB, w levelWriter, key func(int) []byte, n, partialEnd int) {
	t.Helper()
	must := fatalOn(t)
	for i := 0; i < n; i++ {
		must(w.Put(key(i), strataValue(i, 0)))
	}
	must(w.CompactRange(nil, nil))
	for i := 0; i < n; i += 3 {
		must(w.Put(key(i), strataValue(i, 1)))
	}
	for i := 0; i < n; i += 7 {
		must(w.Delete(key(i)))
	}
	must(w.CompactRange(key(100), key(partialEnd)))
	empty := []byte("zzzz") // after every key
	for i := 200; i < 240; i++ {
		must(w.Put(key(i), strataValue(i, 2)))
	}
	must(w.CompactRange(empty, empty))
	for i := 220; i < 240; i++ {
		must(w.Put(key(i), strataValue(i, 3)))
	}
	must(w.CompactRange(empty, empty))
}

// levelWriter is what writeLevels writes through: a DB of Strata's (strataWriter) or of C++
// leveldb's (cleveldbWriter, under the cleveldb tag), writing without sync.
type levelWriter interface {
	Put(key, value []byte) error
	Delete(key []byte) error
	CompactRange(start, limit []byte) error
}

// strataWriter is a Strata DB as a levelWriter.
type strataWriter struct{ d *db.DB }

func (w strataWriter) Put(key, value []byte) error    { return w.d.Put(key, value, nil) }
func (w strataWriter) Delete(key []byte) error        { return w.d.Delete(key, nil) }
func (w strataWriter) CompactRange(a, b []byte) error { return w.d.CompactRange(a, b) }

// writeStrataDB writes a small DB with a fixed sequence of operations, so that its files (names,
// sizes, contents) are the same on every run: writeLevels's tree of 600 keys, the partial
// CompactRange over keys 100 to 150 (its compaction writes several L2 tables: MaxFileSize is
// 8 KB), then 20 more keys and a batch with a binary key, left in the log.
//
// Afterwards the files that the MANIFEST does not reference are removed (as the DB's next open
// would), read from the MANIFEST with compaction.Recover, so the directory does not depend on
// when the DB deletes obsolete files.
func writeStrataDB(t testing.TB, dir string) {
	t.Helper()
	opts := &db.Options{WriteBufferSize: 4 << 20, BlockSize: 512, MaxFileSize: 8 << 10}
	d, err := db.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	must := fatalOn(t)
	writeLevels(t, strataWriter{d}, strataKey, 600, 150)
	for i := 590; i < 610; i++ {
		must(d.Put(strataKey(i), strataValue(i, 4), nil))
	}
	var b db.Batch
	b.Put([]byte("binary\x00\xff"), []byte("\x01\x02 tab\there"))
	b.Delete(strataKey(5))
	must(d.Write(&b, nil))
	must(d.Close())
	removeObsolete(t, dir)
}

// fatalOn returns a function that ends the test at a non-nil error.
func fatalOn(t testing.TB) func(error) {
	return func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// recoverVersions replays the MANIFEST of the DB in dir as the DB's recovery does.
func recoverVersions(t testing.TB, dir string) *compaction.VersionSet {
	t.Helper()
	vs, err := compaction.Recover(vfs.NewOS(), dir, keys.NewInternalComparator(keys.Bytewise), nil)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// removeObsolete removes the tables, logs and MANIFESTs of dir that its MANIFEST does not
// reference, and the info log (it holds timestamps).
func removeObsolete(t testing.TB, dir string) {
	t.Helper()
	vs := recoverVersions(t, dir)
	defer vs.Close()
	live := make(map[uint64]struct{})
	vs.AddLiveFiles(live)
	names, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range names {
		kind, num, ok := filenames.Parse(e.Name())
		if !ok {
			continue
		}
		keep := true
		switch kind {
		case filenames.Table:
			_, keep = live[num]
		case filenames.Log:
			keep = num >= vs.LogNumber()
		case filenames.Manifest:
			keep = num == vs.ManifestFileNumber()
		case filenames.InfoLog, filenames.OldInfoLog, filenames.Temp:
			keep = false
		}
		if !keep {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// copyDir copies the regular files of src into a new directory dst.
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
