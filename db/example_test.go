package db_test

import (
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/stratadb/strata/db"
)

// Example opens a database, writes single keys and an atomic batch, reads them back with Get
// and an iterator, and closes it.
func Example() {
	dir, err := os.MkdirTemp("", "strata-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	d, err := db.Open(dir, nil) // nil options: leveldb's defaults; the directory is created
	if err != nil {
		log.Fatal(err)
	}

	if err := d.Put([]byte("apple"), []byte("red"), nil); err != nil {
		log.Fatal(err)
	}
	// A synced write is on stable storage when Put returns.
	if err := d.Put([]byte("banana"), []byte("yellow"), &db.WriteOptions{Sync: true}); err != nil {
		log.Fatal(err)
	}

	v, err := d.Get([]byte("apple"), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("apple is %s\n", v)
	if _, err := d.Get([]byte("cherry"), nil); errors.Is(err, db.ErrNotFound) {
		fmt.Println("no cherry yet")
	}

	// A batch is applied atomically: readers, and recovery after a crash, see all of it or none.
	var b db.Batch
	b.Put([]byte("cherry"), []byte("dark red"))
	b.Put([]byte("date"), []byte("brown"))
	b.Delete([]byte("banana"))
	if err := d.Write(&b, nil); err != nil {
		log.Fatal(err)
	}

	// Iterate over the keys in [b, d), in order.
	it := d.NewIterator(&db.ReadOptions{LowerBound: []byte("b"), UpperBound: []byte("d")})
	for ok := it.First(); ok; ok = it.Next() {
		fmt.Printf("%s = %s\n", it.Key(), it.Value())
	}
	if err := it.Close(); err != nil {
		log.Fatal(err)
	}

	// Or every key, with a range loop.
	it = d.NewIterator(nil)
	for k, v := range it.All() {
		fmt.Printf("%s: %s\n", k, v)
	}
	if err := it.Close(); err != nil {
		log.Fatal(err)
	}

	if err := d.Close(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// apple is red
	// no cherry yet
	// cherry = dark red
	// apple: red
	// cherry: dark red
	// date: brown
}

// ExampleDB_NewSnapshot reads a consistent view while writes go on.
func ExampleDB_NewSnapshot() {
	d, _, cleanup := exampleDB(nil)
	defer cleanup()

	_ = d.Put([]byte("balance"), []byte("100"), nil)
	snap := d.NewSnapshot()
	defer snap.Release()
	_ = d.Put([]byte("balance"), []byte("50"), nil)

	then, _ := d.Get([]byte("balance"), &db.ReadOptions{Snapshot: snap})
	now, _ := d.Get([]byte("balance"), nil)
	fmt.Printf("then %s, now %s\n", then, now)
	// Output: then 100, now 50
}
