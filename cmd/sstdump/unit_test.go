package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/vfs"
)

func TestAppendEscapedMatchesFormatUserKey(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, k := range [][]byte{nil, {}, all, []byte(`a\b`), []byte("key-0001")} {
		if got, want := string(appendEscaped(nil, k)), keys.FormatUserKey(k); got != want {
			t.Errorf("appendEscaped(%q) = %q, FormatUserKey gives %q", k, got, want)
		}
		back, err := parseKeyArg(string(appendEscaped(nil, k)), false)
		if err != nil || !bytes.Equal(back, k) {
			t.Errorf("parseKeyArg(appendEscaped(%q)) = %q, %v", k, back, err)
		}
	}
}

// TestFormatsMatchCompaction checks that sstdump prints edits and files exactly as the
// compaction package's String methods do, on the MANIFESTs of a Strata DB and of C++ leveldb.
func TestFormatsMatchCompaction(t *testing.T) {
	for _, path := range []string{walDir + "/MANIFEST-000002", filepath.Join(strataDir(t), "MANIFEST-000002")} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		edits := 0
		r := &reporter{path: path, emit: func(f finding) { t.Error(f.text()) }}
		_, err = walkManifest(f, path, r, func(off int64, size int, ed *compaction.VersionEdit) error {
			edits++
			if got, want := formatEdit(ed, bytesFormat{}, ""), ed.String(); got != want {
				t.Errorf("%s at %d: formatEdit\n%s\nString\n%s", path, off, got, want)
			}
			for _, nf := range ed.NewFiles {
				if got, want := formatFile(nf.Meta, bytesFormat{}), nf.Meta.String(); got != want {
					t.Errorf("formatFile = %q, String = %q", got, want)
				}
			}
			return nil
		}, func(err error) { t.Error(err) })
		f.Close()
		if err != nil || edits == 0 {
			t.Fatalf("%s: %d edits, %v", path, edits, err)
		}
	}
}

// TestWalkerMatchesReader reads every good C++ fixture with sstdump's walker and with
// sstable.Reader (the DB's reader) and checks they agree entry for entry; and that the keys
// are detected as internal keys exactly in the DB-style table.
func TestWalkerMatchesReader(t *testing.T) {
	names, err := filepath.Glob(tablesDir + "/*.ldb")
	if err != nil || len(names) == 0 {
		t.Fatal(names, err)
	}
	for _, path := range names {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := vfs.NewOS().Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fi, _ := f.Stat()
			tb, err := openTable(f, path, fi.Size())
			if err != nil {
				t.Fatal(err)
			}
			tb.detectKeys()
			if want := strings.HasSuffix(path, "internal-keys.ldb"); tb.internal != want {
				t.Errorf("detected internal keys: %v, want %v", tb.internal, want)
			}
			var walked [][2][]byte
			for i := range tb.index {
				if _, _, err := tb.dataBlock(i, func(e sstable.RawEntry) bool {
					walked = append(walked, [2][]byte{bytes.Clone(e.Key), bytes.Clone(e.Value)})
					return true
				}); err != nil {
					t.Fatal(err)
				}
			}
			opts := sstable.ReaderOptions{}
			if tb.internal {
				opts.Comparator = keys.NewInternalComparator(keys.Bytewise)
			}
			r, err := sstable.Open(f, path, fi.Size(), opts)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			it := r.NewIterator(sstable.ReadOptions{VerifyChecksums: true})
			n := 0
			for ok := it.First(); ok; ok = it.Next() {
				if n >= len(walked) || !bytes.Equal(it.Key(), walked[n][0]) || !bytes.Equal(it.Value(), walked[n][1]) {
					t.Fatalf("entry %d differs: reader key %q", n, it.Key())
				}
				n++
			}
			if err := it.Close(); err != nil {
				t.Fatal(err)
			}
			if n != len(walked) {
				t.Fatalf("reader has %d entries, walker %d", n, len(walked))
			}
			if l := r.Layout(); len(l.Index) != len(tb.index) || l.Footer.Index != tb.indexH || l.Footer.Metaindex != tb.metaindexH {
				t.Errorf("layout differs: reader %+v", l.Footer)
			}
		})
	}
}

func TestSampleIsInternal(t *testing.T) {
	ik := func(u string, seq keys.SeqNum, k keys.Kind) []byte {
		return keys.AppendInternalKey(nil, []byte(u), seq, k)
	}
	be := func(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }
	for _, c := range []struct {
		name   string
		sample [][]byte
		nIndex int
		want   bool
	}{
		{"empty", nil, 0, false},
		{"internal", [][]byte{ik("b", 9, keys.KindSet), ik("a", 5, keys.KindSet), ik("a", 4, keys.KindDelete), ik("b", 3, keys.KindSet)}, 1, true},
		{"short raw keys", [][]byte{[]byte("a"), []byte("b")}, 1, false},
		// Big-endian counters parse as internal keys with empty user keys, but their trailers
		// increase: bytewise order, not internal-key order.
		{"big-endian numbers", [][]byte{be(1), be(2), be(3)}, 0, false},
		// Parsing keys in neither order: a custom comparator's internal keys.
		{"custom comparator", [][]byte{ik("b", 1, keys.KindSet), ik("a", 1, keys.KindSet), ik("c", 1, keys.KindSet)}, 0, true},
	} {
		if got := sampleIsInternal(c.sample, c.nIndex); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestJSONLines checks that every line scan --format=json prints is a JSON object whose key and
// value decode back to the table's bytes, in both forms (text and _hex).
func TestJSONLines(t *testing.T) {
	for _, name := range []string{"bigkeys", "internal-keys", "single-empty-key", "plain"} {
		path := tablesDir + "/" + name + ".ldb"
		for _, hexFlag := range []string{"--hex=false", "--hex"} {
			r := runCmd("scan", "--format=json", hexFlag, path)
			if r.code != 0 {
				t.Fatalf("%s: exit %d: %s", path, r.code, r.stderr)
			}
			lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
			for _, line := range lines {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("%s: %q: %v", path, line, err)
				}
				for _, field := range []string{"key", "value"} {
					s, isText := m[field].(string)
					h, isHex := m[field+"_hex"].(string)
					if isText == isHex {
						t.Fatalf("%s: %q: want exactly one of %s and %s_hex", path, line, field, field)
					}
					if isHex {
						if _, err := hex.DecodeString(h); err != nil {
							t.Fatalf("%s: %q: %v", path, line, err)
						}
					} else if !printable([]byte(s)) || hexFlag == "--hex" {
						t.Fatalf("%s: %q: %s is not printable text", path, line, field)
					}
				}
			}
		}
	}
}

func TestParseInterspersed(t *testing.T) {
	for _, c := range []struct {
		args  []string
		check bool
		pos   []string
	}{
		{[]string{"dir", "--check"}, true, []string{"dir"}},
		{[]string{"--check", "dir"}, true, []string{"dir"}},
		{[]string{"a", "-check", "b"}, true, []string{"a", "b"}},
		{[]string{"--", "--check"}, false, []string{"--check"}},
		{[]string{"a", "--", "-x", "b"}, false, []string{"a", "-x", "b"}},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		check := fs.Bool("check", false, "")
		pos, err := parseInterspersed(fs, c.args)
		if err != nil || *check != c.check || !reflect.DeepEqual(pos, c.pos) {
			t.Errorf("%q: check %v pos %q err %v; want %v %q", c.args, *check, pos, err, c.check, c.pos)
		}
	}
}

// TestReadFSCannotWrite pins invariant 1: the filesystem sstdump uses has no method that could
// create, write, rename, remove or lock a file.
func TestReadFSCannotWrite(t *testing.T) {
	typ := reflect.TypeOf((*readFS)(nil)).Elem()
	var methods []string
	for i := 0; i < typ.NumMethod(); i++ {
		methods = append(methods, typ.Method(i).Name)
	}
	sort.Strings(methods)
	if want := []string{"List", "Open", "Stat"}; !reflect.DeepEqual(methods, want) {
		t.Errorf("readFS methods %v, want %v", methods, want)
	}
	f, err := vfs.NewOS().Open(tablesDir + "/empty.ldb")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte("x")); err == nil {
		t.Error("a file opened by vfs.NewOS().Open accepted a write")
	}
}

func TestPlural(t *testing.T) {
	for _, c := range []struct {
		n          int
		word, want string
	}{{0, "file", "0 files"}, {1, "entry", "1 entry"}, {3, "entry", "3 entries"}, {2, "key", "2 keys"}} {
		if got := plural(c.n, c.word); got != c.want {
			t.Errorf("plural(%d, %q) = %q, want %q", c.n, c.word, got, c.want)
		}
	}
}

// TestProgress checks the progress line: nothing in the first second, then a line rewritten in
// place, erased at the end; and nothing at all when stderr is not a terminal.
func TestProgress(t *testing.T) {
	if newProgress(&bytes.Buffer{}) != nil {
		t.Error("progress on a writer that is not a terminal")
	}
	var buf bytes.Buffer
	p := &progress{w: &buf}
	p.begin(2, 2000)
	p.nextFile()
	p.add(500)
	if buf.Len() != 0 {
		t.Fatalf("progress within the first second: %q", buf.String())
	}
	p.start = p.start.Add(-2 * progressDelay)
	p.add(500)
	if got := buf.String(); !strings.Contains(got, "checking file 1 of 2, 0.0 of 0.0 MB (50%)") || !strings.HasPrefix(got, "\r\033[K") {
		t.Fatalf("progress line %q", got)
	}
	buf.Reset()
	p.add(1) // within progressEvery of the last line: no redraw
	if buf.Len() != 0 {
		t.Fatalf("redrawn too soon: %q", buf.String())
	}
	p.clear()
	if buf.String() != "\r\033[K" {
		t.Fatalf("clear wrote %q", buf.String())
	}
	var nilp *progress
	nilp.begin(1, 1)
	nilp.add(1)
	nilp.nextFile()
	nilp.clear()
}
