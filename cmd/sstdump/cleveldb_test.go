//go:build cleveldb

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stratadb/strata/internal/cleveldb"
	"github.com/stratadb/strata/internal/filenames"
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/sstable"
)

// writeCLevelDB writes a DB with C++ leveldb 1.23: a few thousand keys through a small write
// buffer (so several flushes and compactions), overwrites and deletions, a CompactRange over
// part of the keys, a few thousand more keys scattered over the key range (flushes to level 0
// and compactions), and last writes that stay in the log (leveldb does not flush on close). It returns the
// DB's final contents as C++ iterates them.
func writeCLevelDB(t *testing.T, dir string) map[string]string {
	t.Helper()
	d, err := cleveldb.Open(dir, cleveldb.Options{
		CreateIfMissing: true, WriteBufferSize: 64 << 10, BlockSize: 1024,
		Compression: true, BloomBitsPerKey: 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	must := fatalOn(t)
	key := func(i int) []byte { return []byte(fmt.Sprintf("user%06d", i)) }
	val := func(i, r int) []byte { return bytes.Repeat([]byte{'a' + byte((i+r)%26)}, 50+(i*13+r)%150) }
	for i := 0; i < 5000; i++ {
		must(d.Put(key(i), val(i, 0), false))
	}
	for i := 0; i < 5000; i += 4 {
		must(d.Put(key(i), val(i, 1), false))
	}
	for i := 0; i < 5000; i += 9 {
		must(d.Delete(key(i), false))
	}
	must(d.CompactRange(key(1000), key(2500)))
	for i := 0; i < 3000; i++ {
		k := (i * 7919) % 10000 // scattered over the whole key range: flushes overlap
		must(d.Put(key(k), val(k, 2), false))
	}
	var b cleveldb.Batch
	for i := 8000; i < 8100; i++ {
		b.Put(key(i), val(i, 2))
		if b.Len() == 10 {
			must(d.Write(&b, false))
			b.Reset()
		}
	}
	b.Delete(key(1))
	must(d.Write(&b, true))

	want := make(map[string]string)
	it := d.NewIterator()
	for ok := it.SeekToFirst(); ok; ok = it.Next() {
		want[string(it.Key())] = string(it.Value())
	}
	must(it.Error())
	must(it.Close())
	must(d.Close())
	return want
}

// TestInteropCLevelDBDirectory runs db, db --check and check over a directory written by C++ leveldb:
// all must pass, and the newest entry of every user key, read from the live tables and logs by
// sstdump's walker, must give the contents C++ leveldb iterates. With SSTDUMP_CLEVELDB_OUT set,
// the outputs are written to that file (for the closing note).
func TestInteropCLevelDBDirectory(t *testing.T) {
	dir := t.TempDir()
	want := writeCLevelDB(t, dir)

	var transcript strings.Builder
	for _, args := range [][]string{{"db", dir}, {"check", dir}, {"db", "--check", dir}} {
		r := runCmd(args...)
		transcript.WriteString(r.transcript(args, dir))
		if r.code != 0 || r.stderr != "" {
			t.Errorf("sstdump %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	t.Log("\n" + transcript.String())
	if out := os.Getenv("SSTDUMP_CLEVELDB_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(transcript.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	got := newestEntries(t, dir)
	if len(got) != len(want) {
		t.Errorf("sstdump sees %d live keys, C++ leveldb %d", len(got), len(want))
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("key %q: sstdump sees %q (present %v), C++ leveldb %q", k, g, ok, v)
			break
		}
	}
}

// newestEntries reads the live tables and logs of the DB in dir with sstdump's own readers and
// returns, for each user key whose newest entry is a SET, its value.
func newestEntries(t *testing.T, dir string) map[string]string {
	t.Helper()
	vs := recoverVersions(t, dir)
	defer vs.Close()
	type version struct {
		seq keys.SeqNum
		del bool
		val string
	}
	newest := make(map[string]version)
	add := func(uk []byte, seq keys.SeqNum, kind keys.Kind, v []byte) {
		if cur, ok := newest[string(uk)]; !ok || seq > cur.seq {
			newest[string(uk)] = version{seq, kind == keys.KindDelete, string(v)}
		}
	}
	for _, files := range vs.Current().Levels {
		for _, m := range files {
			path := filenames.Path(dir, filenames.Table, m.Num)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			fi, _ := f.Stat()
			tb, err := openTable(f, path, fi.Size())
			if err != nil {
				t.Fatal(err)
			}
			for i := range tb.index {
				if _, _, err := tb.dataBlock(i, func(e sstable.RawEntry) bool {
					pk, ok := keys.Parse(e.Key)
					if !ok {
						t.Fatalf("%s: key %q does not parse", path, e.Key)
					}
					add(pk.UserKey, pk.Seq, pk.Kind, e.Value)
					return true
				}); err != nil {
					t.Fatal(err)
				}
			}
			f.Close()
		}
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, path := range logs {
		_, num, _ := filenames.Parse(filepath.Base(path))
		if num < vs.LogNumber() {
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var st logStats
		err = walkLog(f, path, logVisitor{
			record: func(off int64, rec []byte) error {
				return readBatch(path, off, rec, &st, func(err error) { t.Fatal(err) },
					func(seq keys.SeqNum, kind keys.Kind, k, v []byte) error {
						add(k, seq, kind, v)
						return nil
					})
			},
			corrupt: func(err error) { t.Fatal(err) },
			torn:    func(err error) { t.Fatal(err) },
		})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	out := make(map[string]string)
	for k, v := range newest {
		if !v.del {
			out[k] = v.val
		}
	}
	return out
}
