package db_test

import (
	"fmt"
	"log"

	"github.com/stratadb/strata/db"
)

// fill writes each key with a value naming it.
func fill(d *db.DB, keys ...string) {
	var b db.Batch
	for _, k := range keys {
		b.Put([]byte(k), []byte("v-"+k))
	}
	if err := d.Write(&b, nil); err != nil {
		log.Fatal(err)
	}
}

// ExampleIterator_All ranges over every key and value in order. The slices are valid only until
// the loop moves on; copy them to keep them. Check Close's error after the loop: an iterator
// stopped by damaged data ends the loop early.
func ExampleIterator_All() {
	d, _, cleanup := exampleDB(nil)
	defer cleanup()
	fill(d, "b", "a", "c")

	it := d.NewIterator(nil)
	for k, v := range it.All() {
		fmt.Printf("%s=%s\n", k, v)
	}
	if err := it.Close(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// a=v-a
	// b=v-b
	// c=v-c
}

// ExampleDB_NewIterator_bounds iterates over the keys in [LowerBound, UpperBound), forwards and
// backwards. Bounds let the iterator skip tables and blocks outside the range.
func ExampleDB_NewIterator_bounds() {
	d, _, cleanup := exampleDB(nil)
	defer cleanup()
	fill(d, "2024-01-05", "2024-02-11", "2024-02-20", "2024-03-01")

	it := d.NewIterator(&db.ReadOptions{LowerBound: []byte("2024-02"), UpperBound: []byte("2024-03")})
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		fmt.Println("forwards:", string(it.Key()))
	}
	for ok := it.Last(); ok; ok = it.Prev() {
		fmt.Println("backwards:", string(it.Key()))
	}
	fmt.Println("past the end:", it.Valid(), it.Key() == nil)
	if err := it.Error(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// forwards: 2024-02-11
	// forwards: 2024-02-20
	// backwards: 2024-02-20
	// backwards: 2024-02-11
	// past the end: false true
}

// prefixEnd returns the smallest key greater than every key starting with prefix, for an
// iterator's UpperBound, or nil (no bound) when prefix is all 0xff bytes.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// ExampleDB_NewIterator_prefix scans the keys that start with a prefix: the prefix is the lower
// bound, and the prefix with its last byte incremented the upper bound (in the default bytewise
// order).
func ExampleDB_NewIterator_prefix() {
	d, _, cleanup := exampleDB(nil)
	defer cleanup()
	fill(d, "user:1:name", "user:1:email", "user:2:name", "user:10:name", "users", "video:1")

	prefix := []byte("user:1:")
	it := d.NewIterator(&db.ReadOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	for k, v := range it.All() {
		fmt.Printf("%s = %s\n", k, v)
	}
	if err := it.Close(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// user:1:email = v-user:1:email
	// user:1:name = v-user:1:name
}

// ExampleIterator_Seek positions an iterator at the first key at or after a target.
func ExampleIterator_Seek() {
	d, _, cleanup := exampleDB(nil)
	defer cleanup()
	fill(d, "apple", "banana", "cherry")

	it := d.NewIterator(nil)
	defer it.Close()
	if it.Seek([]byte("b")) {
		fmt.Println(string(it.Key()))
	}
	if !it.Seek([]byte("zebra")) {
		fmt.Println("nothing at or after zebra")
	}
	// Output:
	// banana
	// nothing at or after zebra
}
