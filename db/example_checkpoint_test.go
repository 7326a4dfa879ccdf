package db_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/stratadb/strata/db"
)

// ExampleDB_Checkpoint makes a read-only replica of a DB that keeps taking writes: Checkpoint
// writes a consistent copy into a new directory (its tables hard-linked where the filesystem
// allows, so it is fast and takes little space), and the copy opens as a DB of its own, here
// read-only. The replica holds every write that returned before Checkpoint was called, and none
// made after it returned; to catch up, take a new checkpoint into a new directory and switch
// readers over to it.
func ExampleDB_Checkpoint() {
	root, err := os.MkdirTemp("", "strata-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)

	primary, err := db.Open(filepath.Join(root, "primary"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer primary.Close()
	if err := primary.Put([]byte("k"), []byte("v1"), nil); err != nil {
		log.Fatal(err)
	}

	// The directory must not exist yet, or be empty.
	replicaDir := filepath.Join(root, "replica-1")
	if err := primary.Checkpoint(replicaDir); err != nil {
		log.Fatal(err)
	}
	if err := primary.Put([]byte("k"), []byte("v2"), nil); err != nil {
		log.Fatal(err)
	}

	replica, err := db.Open(replicaDir, &db.Options{ReadOnly: true})
	if err != nil {
		log.Fatal(err)
	}
	defer replica.Close()
	v, err := replica.Get([]byte("k"), nil)
	fmt.Printf("replica: %s %v\n", v, err)
	err = replica.Put([]byte("k"), []byte("v3"), nil)
	fmt.Println("replica refuses writes:", errors.Is(err, db.ErrReadOnly))
	v, err = primary.Get([]byte("k"), nil)
	fmt.Printf("primary: %s %v\n", v, err)
	// Output:
	// replica: v1 <nil>
	// replica refuses writes: true
	// primary: v2 <nil>
}
