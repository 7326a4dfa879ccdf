package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/wal"
)

// lyingComparator orders keys bytewise but shortens index keys wrongly: Separator returns the
// next block's first key (not below it) and Successor a key before the table's last key, so
// the index no longer separates the blocks.
type lyingComparator struct{ keys.Comparator }

func (lyingComparator) Separator(dst, a, b []byte) []byte { return append(dst, b...) }
func (lyingComparator) Successor(dst, a []byte) []byte    { return append(dst, a[:len(a)-1]...) }

// wrongFilter builds bloom filters under leveldb's name from keys other than the table's, so
// that most keys of the table miss their block's filter.
type wrongFilter struct{ sstable.FilterPolicy }

func (f wrongFilter) AppendFilter(dst []byte, ks [][]byte) []byte {
	other := make([][]byte, len(ks))
	for i, k := range ks {
		other[i] = append([]byte("not-"), k...)
	}
	return f.FilterPolicy.AppendFilter(dst, other)
}

// writeTable writes n entries key%04d -> value with opts.
func writeTable(t *testing.T, path string, n int, opts sstable.WriterOptions) {
	t.Helper()
	var buf bytes.Buffer
	w := sstable.NewWriter(&buf, opts)
	for i := 0; i < n; i++ {
		if err := w.Add([]byte(fmt.Sprintf("key%04d", i)), bytes.Repeat([]byte{'v'}, 100)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeManifest writes edits as a MANIFEST.
func writeManifest(t *testing.T, path string, edits ...*compaction.VersionEdit) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := wal.NewWriter(f)
	for _, e := range edits {
		if err := w.AddRecord(e.Encode(nil)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func fileMeta(num uint64, smallest, largest string, seq keys.SeqNum) *compaction.FileMetadata {
	return &compaction.FileMetadata{
		Num: num, Size: 1000,
		Smallest: keys.AppendInternalKey(nil, []byte(smallest), seq, keys.KindSet),
		Largest:  keys.AppendInternalKey(nil, []byte(largest), seq+1, keys.KindSet),
	}
}

// TestGoldenDerived runs check, manifest and db over damage made in the test: a table whose
// index keys do not separate its blocks, one whose filter misses its keys, a MANIFEST whose
// edits cannot apply, a MANIFEST cut short, and a DB whose live table was replaced by a table
// of raw keys.
func TestGoldenDerived(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	writeTable(t, p("lying-index.ldb"), 200, sstable.WriterOptions{
		Comparator: lyingComparator{keys.Bytewise}, BlockSize: 1024, Compression: sstable.NoCompression})
	writeTable(t, p("wrong-filter.ldb"), 200, sstable.WriterOptions{
		Filter: wrongFilter{sstable.NewBloomPolicy(10)}, BlockSize: 1024, Compression: sstable.NoCompression})

	var e1, e2, e3 compaction.VersionEdit
	e1.SetComparator(keys.BytewiseName)
	e1.SetLogNum(3)
	e1.SetNextFileNum(10)
	e1.AddFile(1, fileMeta(5, "a", "c", 1))
	e1.AddFile(1, fileMeta(6, "b", "d", 3)) // overlaps 5 in L1
	e2.DeleteFile(2, 7)                     // never added
	e2.AddFile(0, fileMeta(5, "x", "y", 9)) // already in L1
	writeManifest(t, p("MANIFEST-000009"), &e1, &e2)
	e3.SetComparator("idb_cmp1") // not the comparator of e1
	e3.SetLastSeq(7)
	writeManifest(t, p("MANIFEST-000011"), &e1, &e3)

	strata := strataDir(t)
	torn := filepath.Join(dir, "torn-manifest")
	copyDir(t, strata, torn)
	m := filepath.Join(torn, "MANIFEST-000002")
	b, err := os.ReadFile(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(m, b[:len(b)-10], 0o644); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "foreign-table")
	copyDir(t, strata, foreign)
	raw, err := os.ReadFile(tablesDir + "/restart1.ldb")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(foreign, "000012.ldb"), raw, 0o644); err != nil {
		t.Fatal(err)
	}

	runGolden(t, []goldenCase{
		{"derived-lying-index", []string{"check", p("lying-index.ldb")}, 1},
		{"derived-wrong-filter", []string{"check", p("wrong-filter.ldb")}, 1},
		{"derived-manifest-bad-edits", []string{"manifest", p("MANIFEST-000009")}, 1},
		{"derived-check-manifest-bad-edits", []string{"check", p("MANIFEST-000009")}, 1},
		{"derived-manifest-comparator-change", []string{"manifest", p("MANIFEST-000011")}, 1},
		{"derived-torn-manifest-db", []string{"db", torn}, 0},
		{"derived-torn-manifest-check", []string{"check", m}, 0},
		{"derived-foreign-table-db-check", []string{"db", "--check", foreign}, 1},
		{"derived-torn-manifest-db-json", []string{"db", "--format=json", torn}, 0},
		{"derived-check-manifest-bad-edits-json", []string{"check", "--format=json", p("MANIFEST-000009")}, 1},
		{"derived-manifest-bad-edits-json", []string{"manifest", "--format=json", p("MANIFEST-000009")}, 1},
	}, dir)
}
