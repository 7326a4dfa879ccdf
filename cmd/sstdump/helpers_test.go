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

// writeStrataDB writes a small DB with a fixed sequence of operations, so that its files (names,
// sizes, contents) are the same on every run. Flushes and compactions only happen when
// CompactRange asks (the write buffer is larger than everything written), so background timing
// changes nothing:
//
//  1. 600 keys, flushed: the table lands in L2 (nothing above overlaps it);
//  2. every third key overwritten and every seventh deleted, then CompactRange over part of
//     the range: the flush lands in L1 and is compacted with L2 into several L2 tables;
//  3. 40 keys overwritten and flushed by a CompactRange of an empty range: a table in L1;
//  4. 20 keys overwritten and flushed the same way: a table in L0 (it overlaps L1);
//  5. 20 more keys and a batch with a binary key, left in the log.
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
	empty := []byte("zzzz")
	for i := 0; i < 600; i++ {
		must(d.Put(strataKey(i), strataValue(i, 0), nil))
	}
	must(d.CompactRange(nil, nil))
	for i := 0; i < 600; i += 3 {
		must(d.Put(strataKey(i), strataValue(i, 1), nil))
	}
	for i := 0; i < 600; i += 7 {
		must(d.Delete(strataKey(i), nil))
	}
	must(d.CompactRange(strataKey(100), strataKey(150)))
	for i := 200; i < 240; i++ {
		must(d.Put(strataKey(i), strataValue(i, 2), nil))
	}
	must(d.CompactRange(empty, empty))
	for i := 220; i < 240; i++ {
		must(d.Put(strataKey(i), strataValue(i, 3), nil))
	}
	must(d.CompactRange(empty, empty))
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
