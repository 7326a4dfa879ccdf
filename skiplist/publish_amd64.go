//go:build amd64 && !race

package skiplist

// The single writer's stores that readers load with sync/atomic (links, counters, and the
// memtable's hash index slots) need release order only: every write the writer made before the
// store must be visible to a reader that observes the stored value. sync/atomic's stores give
// more, and on amd64 they are XCHG instructions, full barriers that wait until every earlier
// store, the cache-missing writes of a new entry included, has reached the cache; an insert made
// about six of them. A plain MOV already has release order on amd64 (stores are not reordered
// with earlier stores), and a call into assembly keeps the compiler from moving the caller's
// stores past it; so here they are MOVs in assembly, and the writer goes on while its stores
// drain. Under the race detector, which cannot see assembly, and on other architectures, they
// are sync/atomic's (publish_atomic.go).

// publish32 stores v at p with release order.
//
//go:noescape
func publish32(p *uint32, v uint32)

// Publish64 stores v at p so that a reader whose atomic load (sync/atomic.LoadUint64) observes v
// also observes every write the caller made before: the store the List publishes with, for
// structures its writer keeps beside it (the memtable's hash index). The caller must be the only
// goroutine that writes *p.
//
//go:noescape
func Publish64(p *uint64, v uint64)
