//go:build cleveldb

package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stratadb/strata/db"
	"github.com/stratadb/strata/internal/cleveldb"
	"github.com/stratadb/strata/internal/filenames"
)

var writeLevelDBFixture = flag.Bool("write-leveldb-db", false, "write "+levelDBFixture+" again with C++ leveldb 1.23")

// TestCompatWriteLevelDBFixture writes testdata/leveldb-db with C++ leveldb 1.23, when run with
// -write-leveldb-db: writeLevels's tree of 400 keys (the partial CompactRange over keys 100 to
// 200), then a batch left in the log (leveldb does not flush on close). Only the DB's files are
// kept: CURRENT, the MANIFEST, the tables and the log, not the LOCK and the info log (it holds
// timestamps).
func TestCompatWriteLevelDBFixture(t *testing.T) {
	if !*writeLevelDBFixture {
		t.Skip("run with -write-leveldb-db to write " + levelDBFixture + " again")
	}
	dir := t.TempDir()
	d, err := cleveldb.Open(dir, cleveldb.Options{CreateIfMissing: true, Compression: true, BloomBitsPerKey: 10, BlockSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	must := fatalOn(t)
	key := func(i int) []byte { return []byte(fmt.Sprintf("user%04d", i)) }
	writeLevels(t, cleveldbWriter{d}, key, 400, 200)
	var b cleveldb.Batch
	for i := 390; i < 420; i++ {
		b.Put(key(i), strataValue(i, 4))
	}
	b.Delete(key(5))
	must(d.Write(&b, true))
	must(d.Close())

	must(os.RemoveAll(levelDBFixture))
	must(os.MkdirAll(levelDBFixture, 0o755))
	entries, err := os.ReadDir(dir)
	must(err)
	for _, e := range entries {
		kind, _, ok := filenames.Parse(e.Name())
		if ok && (kind == filenames.Current || kind == filenames.Manifest || kind == filenames.Table || kind == filenames.Log) {
			copyFile(t, filepath.Join(dir, e.Name()), filepath.Join(levelDBFixture, e.Name()))
		}
	}
}

// cleveldbWriter is a C++ leveldb DB as a levelWriter.
type cleveldbWriter struct{ d *cleveldb.DB }

func (w cleveldbWriter) Put(key, value []byte) error    { return w.d.Put(key, value, false) }
func (w cleveldbWriter) Delete(key []byte) error        { return w.d.Delete(key, false) }
func (w cleveldbWriter) CompactRange(a, b []byte) error { return w.d.CompactRange(a, b) }

// TestCompatAgreesWithCLevelDB checks compat's verdict on every case with C++ leveldb 1.23
// itself, opening a copy of the DB with paranoid checks and verified reads, as a program that
// wants to know would: where compat says compatible, leveldb opens the DB and reads the keys
// Strata reads; where it says not, leveldb fails to open the DB or to read it.
func TestCompatAgreesWithCLevelDB(t *testing.T) {
	tmp := t.TempDir()
	for _, c := range compatCases() {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(tmp, c.name)
			c.build(t, dir)
			if r := runCmd("compat", dir); r.code != c.code {
				t.Fatalf("compat: exit status %d, want %d\n%s%s", r.code, c.code, r.stdout, r.stderr)
			}
			cxxDir := filepath.Join(tmp, c.name+"-cxx")
			copyDir(t, dir, cxxDir)
			got, err := readCLevelDB(cxxDir)
			if c.code != 0 {
				if err == nil {
					t.Fatalf("compat says not compatible, but C++ leveldb opens the DB and reads %d keys", len(got))
				}
				t.Logf("C++ leveldb: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("compat says compatible, but C++ leveldb: %v", err)
			}
			strataDir := filepath.Join(tmp, c.name+"-strata")
			if c.strataRefuses {
				strataCopy(nil)(t, strataDir)
			} else {
				copyDir(t, dir, strataDir)
			}
			want := readStrata(t, strataDir)
			if len(want) == 0 {
				t.Fatal("Strata reads no keys: the case tests nothing")
			}
			if len(got) != len(want) {
				t.Errorf("C++ leveldb reads %d keys, Strata %d", len(got), len(want))
			}
			for k, v := range want {
				if g, ok := got[k]; !ok || g != v {
					t.Fatalf("key %q: C++ leveldb reads %q (present %v), Strata %q", k, g, ok, v)
				}
			}
		})
	}
}

// readCLevelDB opens the DB in dir with C++ leveldb 1.23 (paranoid checks, verified reads, the
// stock bytewise comparator, its bloom filter) and returns every key and value.
func readCLevelDB(dir string) (map[string]string, error) {
	d, err := cleveldb.Open(dir, cleveldb.Options{ParanoidChecks: true, VerifyChecksums: true, BloomBitsPerKey: 10})
	if err != nil {
		return nil, err
	}
	defer d.Close()
	out := make(map[string]string)
	it := d.NewIterator()
	for ok := it.SeekToFirst(); ok; ok = it.Next() {
		out[string(it.Key())] = string(it.Value())
	}
	err = it.Error()
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	return out, err
}

// readStrata opens the DB in dir with Strata and returns every key and value.
func readStrata(t *testing.T, dir string) map[string]string {
	t.Helper()
	d, err := db.Open(dir, &db.Options{ErrorIfMissing: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	out := make(map[string]string)
	it := d.NewIterator(nil)
	for ok := it.First(); ok; ok = it.Next() {
		out[string(it.Key())] = string(it.Value())
	}
	if err := it.Error(); err != nil {
		t.Fatal(err)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCompatCLevelDBDirectory runs compat over the larger DB that writeCLevelDB writes with C++
// leveldb (several levels, snappy, bloom filters, a live log): it must be compatible, with
// nothing to note but obsolete tables. Those are legitimate: when Close finds a background
// compaction running, C++ leveldb abandons it and leaves the tables it had written so far for the
// next open to delete (a CI run met five of them), so whether any are present depends on timing.
func TestCompatCLevelDBDirectory(t *testing.T) {
	dir := t.TempDir()
	writeCLevelDB(t, dir)
	r := runCmd("compat", dir)
	if r.code != 0 || r.stderr != "" {
		t.Errorf("exit status %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.Contains(line, "note:") && !strings.Contains(line, "note: not referenced: table not in the MANIFEST's tree (obsolete") {
			t.Errorf("unexpected note: %s\n%s", line, r.stdout)
		}
	}
	t.Log("\n" + r.transcript([]string{"compat", dir}, dir))
}
