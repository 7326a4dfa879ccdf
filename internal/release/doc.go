// Package release publishes values that concurrent readers load with sync/atomic, for structures
// with a single writer (the skiplist and the memtable's hash index).
//
// Invariant: a Store is ordered after every memory write the calling goroutine made before it,
// so a reader whose atomic load observes the stored value also observes those writes. That is
// all a single writer needs: it never reads what others wrote, so it needs no ordering of its
// later loads, which is what makes sync/atomic's stores expensive.
//
// On amd64, sync/atomic's stores are XCHG instructions, full barriers that wait until every
// earlier store, including the cache-missing writes of a new entry, has reached the cache; an
// insert into the skiplist makes about six of them. A plain MOV already has release order on
// amd64 (stores are not reordered with earlier stores), and a call into assembly keeps the
// compiler from moving the caller's stores past it; so here Store is a MOV in assembly, and the
// writer goes on while its stores drain. Under the race detector, which cannot see assembly, and
// on other architectures, Store is sync/atomic's.
package release
