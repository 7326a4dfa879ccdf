//go:build !amd64 || race

package skiplist

import "sync/atomic"

// publish32 stores v at p with release order (see publish_amd64.go).
func publish32(p *uint32, v uint32) { atomic.StoreUint32(p, v) }

// Publish64 stores v at p so that a reader whose atomic load (sync/atomic.LoadUint64) observes v
// also observes every write the caller made before: the store the List publishes with, for
// structures its writer keeps beside it (the memtable's hash index). The caller must be the only
// goroutine that writes *p.
func Publish64(p *uint64, v uint64) { atomic.StoreUint64(p, v) }
