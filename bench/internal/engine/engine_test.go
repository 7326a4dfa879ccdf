package engine

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// TestConformance runs one sequence of operations against every engine in this binary (badger,
// run only when named, included) and checks
// the contract in the package comment, so the workloads may rely on it for all of them.
func TestConformance(t *testing.T) {
	for _, e := range Every() {
		t.Run("engine="+e.Name, func(t *testing.T) { testConformance(t, e) })
	}
}

func key(i int) []byte   { return fmt.Appendf(nil, "%016d", i) }
func value(i int) []byte { return bytes.Repeat(fmt.Appendf(nil, "v%07d.", i), 12) } // 108 bytes

func testConformance(t *testing.T, e *Engine) {
	dir := filepath.Join(t.TempDir(), "db")
	s := DefaultSettings()
	s.WriteBufferSize = 64 << 10 // several flushes and tables at this size
	d, err := e.Open(dir, s)
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	for i := 0; i < n; i++ {
		if err := d.Put(key(i), value(i), i%1000 == 0); err != nil {
			t.Fatal(err)
		}
	}
	// Even keys are deleted, half one by one, half in batches; the batch is reused.
	b := d.NewBatch()
	for i := 0; i < n; i += 2 {
		if i < n/2 {
			if err := d.Delete(key(i), false); err != nil {
				t.Fatal(err)
			}
			continue
		}
		b.Delete(key(i))
		if b.Len() == 100 {
			if err := d.Write(b, false); err != nil {
				t.Fatal(err)
			}
			b.Reset()
		}
	}
	b.Put(key(n), value(n))
	if err := d.Write(b, true); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if b.Len() != 0 {
		t.Fatalf("Len after Reset = %d", b.Len())
	}

	check := func(when string) {
		t.Helper()
		for _, i := range []int{0, 1, 2, 3, n / 2, n/2 + 1, n - 1, n} {
			v, found, err := d.Get(key(i))
			want := i%2 == 1 || i == n
			if err != nil || found != want || (want && !bytes.Equal(v, value(i))) {
				t.Fatalf("%s: Get(%d) = %q, %v, %v; want found=%v", when, i, v, found, err, want)
			}
		}
		if _, found, err := d.Get([]byte("absent")); found || err != nil {
			t.Fatalf("%s: Get(absent) = %v, %v", when, found, err)
		}
		it, err := d.NewIterator()
		if err != nil {
			t.Fatal(err)
		}
		count := 0
		prev := []byte(nil)
		for ok := it.First(); ok; ok = it.Next() {
			if prev != nil && bytes.Compare(prev, it.Key()) >= 0 {
				t.Fatalf("%s: keys out of order: %q then %q", when, prev, it.Key())
			}
			prev = append(prev[:0], it.Key()...)
			count++
		}
		if want := n/2 + 1; count != want {
			t.Fatalf("%s: forward scan saw %d keys, want %d", when, count, want)
		}
		count = 0
		for ok := it.Last(); ok; ok = it.Prev() {
			count++
		}
		if want := n/2 + 1; count != want {
			t.Fatalf("%s: backward scan saw %d keys, want %d", when, count, want)
		}
		if !it.Seek(key(10)) || !bytes.Equal(it.Key(), key(11)) || !bytes.Equal(it.Value(), value(11)) {
			t.Fatalf("%s: Seek(10) at %q", when, it.Key())
		}
		if !it.Prev() || !bytes.Equal(it.Key(), key(9)) {
			t.Fatalf("%s: Prev after Seek at %q", when, it.Key())
		}
		if it.Seek(key(n + 1)) {
			t.Fatalf("%s: Seek past the end is valid at %q", when, it.Key())
		}
		if err := it.Error(); err != nil {
			t.Fatal(err)
		}
		if err := it.Close(); err != nil {
			t.Fatal(err)
		}
	}
	check("before compaction")

	// Concurrent writers and readers.
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 2*n + g; i < 3*n; i += 4 {
				if err := d.Put(key(i), value(i), false); err != nil {
					t.Error(err)
					return
				}
				if _, found, err := d.Get(key(i)); !found || err != nil {
					t.Errorf("Get(%d) after Put: %v, %v", i, found, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	wb := d.NewBatch()
	for i := 2 * n; i < 3*n; i++ {
		wb.Delete(key(i))
	}
	if err := d.Write(wb, false); err != nil {
		t.Fatal(err)
	}

	if err := d.CompactAll(); err != nil {
		t.Fatal(err)
	}
	check("after compaction")
	size, err := d.TableBytes()
	if err != nil {
		t.Fatal(err)
	}
	// n/2+1 live entries of 124 bytes (310 KB), whose repetitive values snappy shrinks to a few
	// bytes each: tens of KB of tables for the LSM engines; the B+trees (bbolt, SQLite), which
	// do not compress, hold them in about 400 KB of pages.
	if size < 10_000 || size > 1_000_000 {
		t.Errorf("TableBytes after compaction = %d", size)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if onDisk := tableFileBytes(t, dir); onDisk < size {
		t.Errorf("TableBytes %d, but only %d bytes of table files on disk", size, onDisk)
	} else {
		t.Logf("TableBytes %d, table files on disk after Close %d", size, onDisk)
	}

	d, err = e.Open(dir, s)
	if err != nil {
		t.Fatal(err)
	}
	check("after reopen")
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}

// tableFileBytes adds up the sizes of the table files in dir: the LSM engines' tables (.ldb,
// .sst), and the B+trees' one database file (.db).
func tableFileBytes(t *testing.T, dir string) int64 {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); ext == ".ldb" || ext == ".sst" || ext == ".db" {
			fi, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			total += fi.Size()
		}
	}
	return total
}

func TestParseList(t *testing.T) {
	all, err := ParseList("")
	if err != nil || len(all) < 3 || all[0].Name != "strata" {
		t.Fatalf("ParseList(\"\") = %v, %v", all, err)
	}
	two, err := ParseList("goleveldb, strata,goleveldb")
	if err != nil || len(two) != 2 || two[0].Name != "goleveldb" || two[1].Name != "strata" {
		t.Fatalf("ParseList = %v, %v", two, err)
	}
	if _, err := ParseList("lmdb"); err == nil {
		t.Fatal("ParseList(lmdb) succeeded")
	}
	// Badger, bbolt and SQLite run only when named.
	for _, e := range all {
		if e.Name == "badger" || e.Name == "bbolt" || e.Name == "sqlite" {
			t.Fatalf("%s is in all", e.Name)
		}
	}
	sb, err := ParseList("strata,badger")
	if err != nil || len(sb) != 2 || sb[1].Name != "badger" || !slices.Contains(Names(), "badger") {
		t.Fatalf("ParseList(strata,badger) = %v, %v; names %v", sb, err, Names())
	}
}

// TestTransactions checks contract 6 on every Transactor: a transaction reads its own writes and
// the DB as of its start, one whose read was written since it began runs again (counted), and
// concurrent read-modify-write transactions lose no update. Strata and badger have
// transactions; the other engines have none.
func TestTransactions(t *testing.T) {
	for _, e := range Every() {
		t.Run("engine="+e.Name, func(t *testing.T) {
			d, err := e.Open(filepath.Join(t.TempDir(), "db"), DefaultSettings())
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			tr, ok := d.(Transactor)
			if want := e.Name == "strata" || e.Name == "badger"; ok != want {
				t.Fatalf("Transactor: %v, want %v", ok, want)
			}
			if ok {
				testTransactions(t, d, tr)
			}
		})
	}
}

func testTransactions(t *testing.T, d DB, tr Transactor) {
	// Reads see the transaction's own writes; an absent key is found == false.
	conflicts, err := tr.Update(func(tx Txn) error {
		if _, found, err := tx.Get(key(1)); found || err != nil {
			return fmt.Errorf("Get(absent) = %v, %v", found, err)
		}
		if err := tx.Put(key(1), value(1)); err != nil {
			return err
		}
		if v, found, err := tx.Get(key(1)); !found || err != nil || !bytes.Equal(v, value(1)) {
			return fmt.Errorf("Get(own write) = %q, %v, %v", v, found, err)
		}
		return nil
	})
	if err != nil || conflicts != 0 {
		t.Fatalf("Update = %d, %v", conflicts, err)
	}
	if v, found, err := d.Get(key(1)); !found || err != nil || !bytes.Equal(v, value(1)) {
		t.Fatalf("Get after commit = %q, %v, %v", v, found, err)
	}

	// A write of a key the transaction read, after it began, makes it run again; the first run
	// read the value as of its start.
	runs := 0
	conflicts, err = tr.Update(func(tx Txn) error {
		runs++
		v, _, err := tx.Get(key(1))
		if err != nil {
			return err
		}
		if runs == 1 {
			if !bytes.Equal(v, value(1)) {
				return fmt.Errorf("first run read %q", v)
			}
			if err := d.Put(key(1), value(2), false); err != nil {
				return err
			}
		} else if !bytes.Equal(v, value(2)) {
			return fmt.Errorf("second run read %q", v)
		}
		return tx.Put(key(2), v)
	})
	if err != nil || conflicts != 1 || runs != 2 {
		t.Fatalf("Update = %d conflicts, %v; %d runs", conflicts, err, runs)
	}
	if v, _, _ := d.Get(key(2)); !bytes.Equal(v, value(2)) {
		t.Fatalf("key 2 = %q, want the second run's write", v)
	}

	// Concurrent increments of one counter: none is lost.
	const goroutines, each = 4, 50
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				_, err := tr.Update(func(tx Txn) error {
					v, _, err := tx.Get([]byte("counter"))
					if err != nil {
						return err
					}
					n := 0
					if len(v) > 0 {
						fmt.Sscan(string(v), &n)
					}
					return tx.Put([]byte("counter"), fmt.Append(nil, n+1))
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if v, _, _ := d.Get([]byte("counter")); string(v) != fmt.Sprint(goroutines*each) {
		t.Fatalf("counter = %q, want %d", v, goroutines*each)
	}
}
