package db_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"sync/atomic"
	"time"

	"github.com/stratadb/strata/db"
)

// ExampleEventListener watches a DB from an application: flushes and write stalls are counted
// as they happen, and Metrics reports what the DB holds and has done. WriteContext bounds how
// long a write may wait in a stall.
func ExampleEventListener() {
	dir, err := os.MkdirTemp("", "strata-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	var flushes, stalls atomic.Int64
	listener := &db.EventListener{
		FlushEnd: func(info db.FlushInfo) {
			if info.Err == nil {
				flushes.Add(1)
			}
		},
		WriteStallBegin: func(info db.WriteStallInfo) {
			stalls.Add(1) // a real program would export info.Reason to its monitoring
		},
		BackgroundError: func(err error) { log.Printf("strata: writes stopped: %v", err) },
	}
	d, err := db.Open(dir, &db.Options{WriteBufferSize: 64 << 10, EventListener: listener})
	if err != nil {
		log.Fatal(err)
	}

	value := make([]byte, 100)
	for i := 0; i < 2000; i++ {
		var b db.Batch
		b.Put([]byte(fmt.Sprintf("key%05d", i)), value)
		// Give up on a write that cannot start within a second (the DB is stalled); it is then
		// not applied at all.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := d.WriteContext(ctx, &b, nil)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			log.Printf("write %d timed out in a stall", i)
		} else if err != nil {
			log.Fatal(err)
		}
	}
	if err := d.CompactRange(nil, nil); err != nil {
		log.Fatal(err)
	}

	m := d.Metrics()
	fmt.Println("flushed:", m.Flush.Count > 0)
	fmt.Println("compacted into one level:", m.Levels[0].Files == 0 && m.Compaction.BytesWritten > 0)
	fmt.Println("write amplification at least 1:", m.WriteAmplification >= 1)
	if err := d.Close(); err != nil { // Close delivers every event queued before it
		log.Fatal(err)
	}
	fmt.Println("listener saw the flushes:", flushes.Load() == m.Flush.Count)
	// Output:
	// flushed: true
	// compacted into one level: true
	// write amplification at least 1: true
	// listener saw the flushes: true
}
