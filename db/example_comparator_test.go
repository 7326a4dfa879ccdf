package db_test

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/stratadb/strata/db"
)

// numericOrder orders keys that are decimal numbers without leading zeros by their value:
// shorter keys first, keys of one length bytewise. That is a total order on all byte strings,
// so any key is allowed; numbers just come out in numeric order.
type numericOrder struct{}

func (numericOrder) Compare(a, b []byte) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return bytes.Compare(a, b)
}

func (numericOrder) Name() string { return "example.NumericOrder" }

// Separator and Successor return a itself: always correct, if not the shortest.
func (numericOrder) Separator(dst, a, b []byte) []byte { return append(dst, a...) }
func (numericOrder) Successor(dst, a []byte) []byte    { return append(dst, a...) }

// ExampleComparator creates a DB with a custom key order. The order is the DB's for good: opening
// it with another comparator fails.
func ExampleComparator() {
	dir, err := os.MkdirTemp("", "strata-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	d, err := db.Open(dir, &db.Options{Comparator: numericOrder{}})
	if err != nil {
		log.Fatal(err)
	}
	for _, k := range []string{"100", "9", "20", "3"} {
		if err := d.Put([]byte(k), []byte("v"+k), nil); err != nil {
			log.Fatal(err)
		}
	}
	it := d.NewIterator(nil)
	var order []string
	for k := range it.All() {
		order = append(order, string(k))
	}
	fmt.Println(strings.Join(order, " "))
	if err := it.Close(); err != nil {
		log.Fatal(err)
	}
	if err := d.Close(); err != nil {
		log.Fatal(err)
	}

	// The MANIFEST records "example.NumericOrder"; the default bytewise order does not match it.
	_, err = db.Open(dir, nil)
	fmt.Println(errors.Is(err, db.ErrInvalidArgument))
	// Output:
	// 3 9 20 100
	// true
}
