package wal_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/stratadb/strata/wal"
)

// buffer is an in-memory wal.SyncWriter; a real log is a vfs.File.
type buffer struct{ bytes.Buffer }

func (*buffer) Sync() error { return nil }

// Example writes three records, one of them spanning two blocks, and reads them back, stopping
// at the end of the log as recovery does: at io.EOF or at a torn tail.
func Example() {
	var f buffer
	w := wal.NewWriter(&f)
	for _, rec := range [][]byte{[]byte("first"), bytes.Repeat([]byte("x"), 40000), nil} {
		if err := w.AddRecord(rec); err != nil {
			fmt.Println("append:", err)
			return
		}
	}
	if err := w.Sync(); err != nil {
		fmt.Println("sync:", err)
		return
	}
	fmt.Println("log size:", w.Size())

	r := wal.NewReader(bytes.NewReader(f.Bytes()), "000001.log")
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) || errors.Is(err, wal.ErrTornTail) {
			fmt.Println("end of log")
			break
		}
		if err != nil {
			fmt.Println("read:", err)
			return
		}
		fmt.Printf("record at offset %d: %d bytes\n", r.Offset(), len(rec))
	}
	// Output:
	// log size: 40033
	// record at offset 0: 5 bytes
	// record at offset 12: 40000 bytes
	// record at offset 40026: 0 bytes
	// end of log
}
