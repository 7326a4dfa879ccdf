package db_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"strconv"

	"github.com/stratadb/strata/db"
)

// ExampleDB_Update moves money between two accounts in a transaction: the balances it reads
// cannot change under it, so the total is conserved however many transfers run at once (Update
// runs the function again when another transaction got there first).
func ExampleDB_Update() {
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
	_ = d.Put([]byte("alice"), []byte("100"), nil)
	_ = d.Put([]byte("bob"), []byte("50"), nil)

	balance := func(tx *db.Transaction, who string) (int, error) {
		v, err := tx.Get([]byte(who))
		if err != nil {
			return 0, err
		}
		return strconv.Atoi(string(v))
	}
	transfer := func(from, to string, amount int) error {
		return d.Update(func(tx *db.Transaction) error {
			a, err := balance(tx, from)
			if err != nil {
				return err
			}
			b, err := balance(tx, to)
			if err != nil {
				return err
			}
			if a < amount {
				return errors.New("insufficient funds") // returned as is; nothing is written
			}
			if err := tx.Put([]byte(from), []byte(strconv.Itoa(a-amount))); err != nil {
				return err
			}
			return tx.Put([]byte(to), []byte(strconv.Itoa(b+amount)))
		})
	}
	if err := transfer("alice", "bob", 30); err != nil {
		log.Fatal(err)
	}
	fmt.Println(transfer("bob", "alice", 500))

	_ = d.View(func(tx *db.Transaction) error {
		a, _ := balance(tx, "alice")
		b, _ := balance(tx, "bob")
		fmt.Println("alice", a, "bob", b, "total", a+b)
		return nil
	})
	// Output:
	// insufficient funds
	// alice 70 bob 80 total 150
}

// ExampleTransaction shows a conflict: a transaction that read a key another writer changed
// before it committed fails with ErrConflict and writes nothing.
func ExampleTransaction() {
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
	_ = d.Put([]byte("counter"), []byte("1"), nil)

	tx := d.NewTransaction()
	defer tx.Discard() // harmless after Commit
	v, _ := tx.Get([]byte("counter"))
	n, _ := strconv.Atoi(string(v))
	_ = tx.Put([]byte("counter"), []byte(strconv.Itoa(n+1)))

	_ = d.Put([]byte("counter"), []byte("10"), nil) // another writer, after tx read the counter

	err = tx.Commit(nil)
	fmt.Println("conflict:", errors.Is(err, db.ErrConflict))
	v, _ = d.Get([]byte("counter"), nil)
	fmt.Println("counter:", string(v))
	// Output:
	// conflict: true
	// counter: 10
}
