package vfs_test

import (
	"errors"
	"fmt"
	"log"
	"sync/atomic"
	"syscall"

	"github.com/stratadb/strata/db"
	"github.com/stratadb/strata/vfs"
)

// ledger is a small application on top of Strata: it records payments, and promises that a
// payment is durable once Record returns.
type ledger struct{ d *db.DB }

func (l *ledger) Record(id, amount string) error {
	return l.d.Put([]byte("payment/"+id), []byte(amount), &db.WriteOptions{Sync: true})
}

// Note is not a promise: it may be lost in a power loss.
func (l *ledger) Note(id, text string) error {
	return l.d.Put([]byte("note/"+id), []byte(text), nil)
}

// Example_powerLoss tests an application's durability promise in memory: the DB runs on a MemFS,
// CrashClone takes what a power loss at that moment would leave on disk, and the application
// reopens on the clone. Synced writes survive; unsynced ones are lost (a process crash would
// keep them: CrashClone models the machine going down).
func Example_powerLoss() {
	fs := vfs.NewMem()
	d, err := db.Open("/ledger", &db.Options{FS: fs})
	if err != nil {
		log.Fatal(err)
	}
	app := &ledger{d}
	if err := app.Record("1", "10.00"); err != nil {
		log.Fatal(err)
	}
	if err := app.Note("1", "paid by card"); err != nil {
		log.Fatal(err)
	}

	afterCrash := fs.CrashClone() // the power goes out here
	d.Close()

	d, err = db.Open("/ledger", &db.Options{FS: afterCrash})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	amount, err := d.Get([]byte("payment/1"), nil)
	fmt.Printf("payment/1: %s %v\n", amount, err)
	_, err = d.Get([]byte("note/1"), nil)
	fmt.Println("note/1 lost:", errors.Is(err, db.ErrNotFound))
	// Output:
	// payment/1: 10.00 <nil>
	// note/1 lost: true
}

// Example_diskFull fills the disk under the DB: the write that needs the disk fails with an
// error the application can match with errors.Is, and nothing acknowledged before is lost.
func Example_diskFull() {
	mem := vfs.NewMem()
	var full atomic.Bool
	fs := vfs.WithFaults(mem, vfs.InjectorFunc(func(op vfs.Op, _ string) error {
		if full.Load() && (op == vfs.OpWrite || op == vfs.OpSync) {
			return syscall.ENOSPC
		}
		return nil
	}))

	d, err := db.Open("/app", &db.Options{FS: fs})
	if err != nil {
		log.Fatal(err)
	}
	if err := d.Put([]byte("a"), []byte("1"), &db.WriteOptions{Sync: true}); err != nil {
		log.Fatal(err)
	}
	full.Store(true) // the disk fills up
	err = d.Put([]byte("b"), []byte("2"), &db.WriteOptions{Sync: true})
	fmt.Println("write failed, disk full:", errors.Is(err, syscall.ENOSPC))
	d.Close()

	d, err = db.Open("/app", &db.Options{FS: mem.CrashClone()})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	v, err := d.Get([]byte("a"), nil)
	fmt.Printf("a: %s %v\n", v, err)
	// Output:
	// write failed, disk full: true
	// a: 1 <nil>
}
