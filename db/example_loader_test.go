package db_test

import (
	"fmt"
	"log"
	"os"

	"github.com/stratadb/strata/db"
)

// ExampleDB_NewLoader fills a DB with many keys in any order, far faster than Puts: the Loader
// sorts them in bounded memory, writes each table once at the deepest level it can go, and
// Commit makes all of them visible at once (durably: a crash before Commit returns leaves none
// of them). Keys Put twice keep their last value.
func ExampleDB_NewLoader() {
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

	l, err := d.NewLoader(&db.LoaderOptions{BufferSize: 32 << 20})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Discard() // gives the load up unless Commit ran
	for _, name := range []string{"carol", "alice", "bob", "alice"} {
		if err := l.Put([]byte(name), []byte("user:"+name)); err != nil {
			log.Fatal(err)
		}
	}
	if err := l.Commit(); err != nil {
		log.Fatal(err)
	}

	it := d.NewIterator(nil)
	defer it.Close()
	for k, v := range it.All() {
		fmt.Printf("%s=%s\n", k, v)
	}
	// Output:
	// alice=user:alice
	// bob=user:bob
	// carol=user:carol
}
