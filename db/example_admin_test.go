package db_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/stratadb/strata/db"
)

// exampleDB opens a new DB in a temporary directory; cleanup closes it and removes the
// directory.
func exampleDB(opts *db.Options) (d *db.DB, dir string, cleanup func()) {
	dir, err := os.MkdirTemp("", "strata-example-")
	if err != nil {
		log.Fatal(err)
	}
	d, err = db.Open(dir, opts)
	if err != nil {
		log.Fatal(err)
	}
	return d, dir, func() {
		d.Close()
		os.RemoveAll(dir)
	}
}

// ExampleRepair rebuilds a DB whose CURRENT file was lost. Without CURRENT, Open refuses the
// directory; Repair rebuilds it from the tables and logs it still holds.
func ExampleRepair() {
	d, dir, cleanup := exampleDB(nil)
	defer cleanup() // removes dir; d is closed below, and a second Close only returns ErrClosed
	if err := d.Put([]byte("k"), []byte("v"), &db.WriteOptions{Sync: true}); err != nil {
		log.Fatal(err)
	}
	if err := d.Close(); err != nil {
		log.Fatal(err)
	}

	if err := os.Remove(filepath.Join(dir, "CURRENT")); err != nil {
		log.Fatal(err)
	}
	_, err := db.Open(dir, nil)
	fmt.Println("open:", errors.Is(err, db.ErrCorruption))

	if err := db.Repair(dir, nil); err != nil {
		log.Fatal(err)
	}
	d, err = db.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	v, err := d.Get([]byte("k"), nil)
	fmt.Printf("after repair: %s %v\n", v, err)
	// Output:
	// open: true
	// after repair: v <nil>
}

// ExampleRepairWithReport repairs a DB whose log was damaged, and reads from the report what
// was lost.
func ExampleRepairWithReport() {
	d, dir, cleanup := exampleDB(nil)
	defer cleanup() // removes dir; d is closed below, and a second Close only returns ErrClosed
	for _, k := range []string{"a", "b", "c"} {
		if err := d.Put([]byte(k), []byte("value of "+k), nil); err != nil {
			log.Fatal(err)
		}
	}
	if err := d.Close(); err != nil {
		log.Fatal(err)
	}

	// Damage the first record of the log: its checksum no longer matches. Repair skips what
	// it cannot read and says so.
	logs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil || len(logs) != 1 {
		log.Fatal(logs, err)
	}
	logFile := logs[0]
	b, err := os.ReadFile(logFile)
	if err != nil {
		log.Fatal(err)
	}
	b[10] ^= 0xff
	if err := os.WriteFile(logFile, b, 0o644); err != nil {
		log.Fatal(err)
	}

	report, err := db.RepairWithReport(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("lost data:", report.LostData())
	fmt.Println("log bytes dropped:", report.LogBytesDropped > 0)
	fmt.Println("set aside:", report.SetAside)
	// Output:
	// lost data: true
	// log bytes dropped: true
	// set aside: [lost/000003.log lost/MANIFEST-000002]
}

// ExampleDB_CompactRange compacts the whole key space: afterwards deleted and overwritten data
// takes no space, and every table is in one level.
func ExampleDB_CompactRange() {
	d, _, cleanup := exampleDB(nil)
	defer cleanup()
	for i := range 1000 {
		k := []byte(fmt.Sprintf("key%04d", i))
		if err := d.Put(k, []byte("some value"), nil); err != nil {
			log.Fatal(err)
		}
		if i%2 == 0 {
			if err := d.Delete(k, nil); err != nil {
				log.Fatal(err)
			}
		}
	}
	// nil, nil: from the first key to the last.
	if err := d.CompactRange(nil, nil); err != nil {
		log.Fatal(err)
	}
	l0, _ := d.Property("leveldb.num-files-at-level0")
	fmt.Println("tables at level 0:", l0)
	// Output:
	// tables at level 0: 0
}

// ExampleDB_Property reads leveldb's properties: here the number of tables at each level. The
// other names are leveldb.stats (a table of compaction work per level), leveldb.sstables (every
// table and its key range) and leveldb.approximate-memory-usage.
func ExampleDB_Property() {
	d, _, cleanup := exampleDB(nil)
	defer cleanup()
	if err := d.Put([]byte("apple"), []byte("red"), nil); err != nil {
		log.Fatal(err)
	}
	if err := d.CompactRange(nil, nil); err != nil { // flushes the memtable to a table
		log.Fatal(err)
	}
	files := 0
	for level := range 7 {
		n, ok := d.Property(fmt.Sprintf("leveldb.num-files-at-level%d", level))
		if !ok {
			log.Fatal("unknown property")
		}
		var count int
		fmt.Sscan(n, &count)
		files += count
	}
	fmt.Println("tables:", files)
	_, ok := d.Property("leveldb.no-such-property")
	fmt.Println("unknown name known:", ok)
	// Output:
	// tables: 1
	// unknown name known: false
}

// ExampleDB_ApproximateSizes estimates how much disk space key ranges take.
func ExampleDB_ApproximateSizes() {
	d, _, cleanup := exampleDB(&db.Options{Compression: db.NoCompression})
	defer cleanup()
	value := make([]byte, 1000)
	for i := range 100 {
		if err := d.Put([]byte(fmt.Sprintf("a%03d", i)), value, nil); err != nil {
			log.Fatal(err)
		}
	}
	// Sizes count tables only, not the memtable: flush it first.
	if err := d.CompactRange(nil, nil); err != nil {
		log.Fatal(err)
	}
	sizes, err := d.ApproximateSizes([]db.Range{
		{Start: []byte("a"), Limit: []byte("b")}, // the 100 keys
		{Start: []byte("x"), Limit: []byte("z")}, // none
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("a..b holds about 100 KB:", sizes[0] > 90_000 && sizes[0] < 120_000)
	fmt.Println("x..z:", sizes[1])
	// Output:
	// a..b holds about 100 KB: true
	// x..z: 0
}

// ExampleDB_Has checks whether keys are present without reading their values.
func ExampleDB_Has() {
	d, _, cleanup := exampleDB(nil)
	defer cleanup()
	if err := d.Put([]byte("big"), make([]byte, 1<<20), nil); err != nil {
		log.Fatal(err)
	}
	for _, k := range []string{"big", "small"} {
		ok, err := d.Has([]byte(k), nil) // the 1 MiB value is not copied
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(k, ok)
	}
	// Output:
	// big true
	// small false
}
