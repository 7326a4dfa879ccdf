package db_test

import (
	"fmt"
	"log"
	"os"

	"github.com/stratadb/strata/db"
)

// ExampleDB_GetMany looks up a batch of keys in one call. The answers come in key order, not
// the order of the batch, each with its index in the batch; a value is only valid during the
// call, so it is copied to be kept. HasMany answers whether each key is present, without
// values. Batches of thousands of keys and more are where a batched lookup pays: it sorts
// them, visits each table and data block once for the whole batch, and lets the bloom filters
// rule out absent keys.
func ExampleDB_GetMany() {
	dir, err := os.MkdirTemp("", "strata-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	d, err := db.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	for _, name := range []string{"alice", "bob", "carol"} {
		if err := d.Put([]byte(name), []byte("user:"+name), nil); err != nil {
			log.Fatal(err)
		}
	}

	batch := [][]byte{[]byte("carol"), []byte("mallory"), []byte("alice"), []byte("carol")}
	values := make([][]byte, len(batch))
	err = d.GetMany(batch, nil, func(i int, value []byte, found bool) error {
		fmt.Printf("%d %s found=%t\n", i, batch[i], found)
		if found {
			values[i] = append([]byte(nil), value...)
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q\n", values)

	found := make([]bool, len(batch))
	if err := d.HasMany(batch, nil, found); err != nil {
		log.Fatal(err)
	}
	fmt.Println(found)
	// Output:
	// 2 alice found=true
	// 0 carol found=true
	// 3 carol found=true
	// 1 mallory found=false
	// ["user:carol" "" "user:alice" "user:carol"]
	// [true false true true]
}
