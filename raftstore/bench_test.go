package raftstore_test

// Benchmarks of the store against raft-boltdb v2, raft's default log store, in the same run:
// raft's own benchmark functions (github.com/hashicorp/raft/bench) on each engine, and
// StoreLogs of 1, 16 and 128 entries of 1 KiB from 1 and 8 goroutines. Every row names its
// engine: BenchmarkGetLog/engine=strata, BenchmarkStoreLogsBatch/engine=boltdb/entries=16/
// goroutines=8. Both engines sync every write (their defaults). docs/raft.md has the table:
//
//	cd raftstore && go test -run '^$' -bench . -benchtime 2s -count 3

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	raftbench "github.com/hashicorp/raft/bench"

	"github.com/stratadb/strata/raftstore"
)

// benchStore is what both engines are: a log store and a stable store that closes.
type benchStore interface {
	raft.LogStore
	raft.StableStore
	Close() error
}

var benchEngines = []struct {
	name string
	open func(dir string) (benchStore, error)
}{
	{"strata", func(dir string) (benchStore, error) { return raftstore.Open(dir, nil) }},
	{"boltdb", func(dir string) (benchStore, error) {
		return raftboltdb.NewBoltStore(filepath.Join(dir, "raft.db"))
	}},
}

// runEngines runs fn as a sub-benchmark per engine, each on a new store.
func runEngines(b *testing.B, fn func(b *testing.B, s benchStore)) {
	for _, e := range benchEngines {
		b.Run("engine="+e.name, func(b *testing.B) {
			s, err := e.open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.ReportAllocs()
			fn(b, s)
		})
	}
}

func BenchmarkFirstIndex(b *testing.B) {
	runEngines(b, func(b *testing.B, s benchStore) { raftbench.FirstIndex(b, s) })
}

func BenchmarkLastIndex(b *testing.B) {
	runEngines(b, func(b *testing.B, s benchStore) { raftbench.LastIndex(b, s) })
}

func BenchmarkGetLog(b *testing.B) {
	runEngines(b, func(b *testing.B, s benchStore) { raftbench.GetLog(b, s) })
}

func BenchmarkStoreLogs(b *testing.B) {
	runEngines(b, func(b *testing.B, s benchStore) { raftbench.StoreLogs(b, s) })
}

func BenchmarkDeleteRange(b *testing.B) {
	runEngines(b, func(b *testing.B, s benchStore) { raftbench.DeleteRange(b, s) })
}

func BenchmarkSet(b *testing.B) {
	runEngines(b, func(b *testing.B, s benchStore) { raftbench.Set(b, s) })
}

func BenchmarkGet(b *testing.B) {
	runEngines(b, func(b *testing.B, s benchStore) { raftbench.Get(b, s) })
}

func BenchmarkSetUint64(b *testing.B) {
	runEngines(b, func(b *testing.B, s benchStore) { raftbench.SetUint64(b, s) })
}

func BenchmarkGetUint64(b *testing.B) {
	runEngines(b, func(b *testing.B, s benchStore) { raftbench.GetUint64(b, s) })
}

// BenchmarkStoreLogsBatch: StoreLogs of `entries` entries of 1 KiB each, from `goroutines`
// goroutines that append to the same log at once (each call takes the next free run of
// indexes), as a leader's log does under load. An op is one call; MB/s counts entry data.
func BenchmarkStoreLogsBatch(b *testing.B) {
	data := make([]byte, 1024)
	for i := range data {
		data[i] = byte(i*131 + i>>3) // not all zeros, nor all alike
	}
	// Both engines run each case one after the other (a name's slashes make levels all the
	// same), so that a disk whose speed drifts over the run treats them alike.
	for _, entries := range []int{1, 16, 128} {
		for _, goroutines := range []int{1, 8} {
			for _, e := range benchEngines {
				name := fmt.Sprintf("engine=%s/entries=%d/goroutines=%d", e.name, entries, goroutines)
				b.Run(name, func(b *testing.B) {
					s, err := e.open(b.TempDir())
					if err != nil {
						b.Fatal(err)
					}
					defer s.Close()
					benchStoreLogsBatch(b, s, data, entries, goroutines)
				})
			}
		}
	}
}

func benchStoreLogsBatch(b *testing.B, s benchStore, data []byte, entries, goroutines int) {
	b.SetBytes(int64(entries * len(data)))
	b.ReportAllocs()
	var ops, next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	b.ResetTimer()
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			logs := make([]*raft.Log, entries)
			for i := range logs {
				logs[i] = &raft.Log{Term: 1, Type: raft.LogCommand, Data: data}
			}
			for ops.Add(1) <= int64(b.N) {
				first := next.Add(int64(entries)) - int64(entries) + 1
				for i, l := range logs {
					l.Index = uint64(first) + uint64(i)
				}
				if err := s.StoreLogs(logs); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}
