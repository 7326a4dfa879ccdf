package db_test

import (
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/stratadb/strata/db"
)

// ExampleOptions_readOnly opens a DB for reading only, twice at once (two readers, in this
// process here; in other processes too), reads from both, and shows that a writer is kept out
// until the last reader closes. A read-only open writes nothing in the directory, so it also
// works on a directory the process may not write.
func ExampleOptions_readOnly() {
	dir, err := os.MkdirTemp("", "strata-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// Some process wrote the DB and closed it.
	w, err := db.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Put([]byte("greeting"), []byte("hello"), nil); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	// Two readers share the directory.
	readOnly := &db.Options{ReadOnly: true}
	r1, err := db.Open(dir, readOnly)
	if err != nil {
		log.Fatal(err)
	}
	r2, err := db.Open(dir, readOnly)
	if err != nil {
		log.Fatal(err)
	}
	v, err := r1.Get([]byte("greeting"), nil)
	fmt.Printf("reader 1: %s %v\n", v, err)
	v, err = r2.Get([]byte("greeting"), nil)
	fmt.Printf("reader 2: %s %v\n", v, err)
	fmt.Println("reader 1 writes:", errors.Is(r1.Put([]byte("k"), []byte("v"), nil), db.ErrReadOnly))

	// While a reader holds the directory, a writer cannot open it.
	_, err = db.Open(dir, nil)
	fmt.Println("writer while readers hold it:", errors.Is(err, db.ErrLocked))
	if err := r1.Close(); err != nil {
		log.Fatal(err)
	}
	if err := r2.Close(); err != nil {
		log.Fatal(err)
	}
	w, err = db.Open(dir, nil)
	fmt.Println("writer after the readers closed:", err)
	if err == nil {
		w.Close()
	}
	// Output:
	// reader 1: hello <nil>
	// reader 2: hello <nil>
	// reader 1 writes: true
	// writer while readers hold it: true
	// writer after the readers closed: <nil>
}
