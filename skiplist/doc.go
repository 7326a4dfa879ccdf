// Package skiplist is an ordered index of entries kept in one arena, for the memtable.
//
// Each entry is a key, a 64-bit tag and a value. Entries are ordered by key ascending under the
// list's compare function, then by tag descending. The tag is stored as eight little-endian bytes
// directly after the key, so key and tag form one contiguous slice: exactly leveldb's internal
// key (user key, then seq<<8|kind), newest first among equal user keys. The package itself
// attaches no meaning to the tag.
//
// Concurrency: one writer (Add) and any number of concurrent readers (iterators, Contains)
// without locks. The writer fully builds a node in the arena, then publishes it with release
// stores of the links (Publish64 and its 32-bit twin: a plain MOV on amd64, sync/atomic
// elsewhere and under the race detector), bottom level first; readers follow links with atomic
// loads, so a reader sees a node only after all its bytes are in place. Callers must serialise
// writers themselves.
//
// Invariants:
//  1. At every level the links visit nodes in strictly increasing order; level 0 links every
//     node, level i+1 a subset of level i. A node of height h appears on levels 0..h-1.
//  2. Entries are never removed or changed once added, so a reader that has seen a node may keep
//     using it (and the slices it returned) for as long as it holds the List.
//  3. An entry added before an iterator was positioned is visible to it; an entry added while it
//     moves may or may not be.
//  4. Nodes, keys and values live in the arena; Add allocates nothing on the Go heap. A full
//     arena makes Add fail with ErrArenaFull and leaves the list unchanged.
//  5. Heights are drawn with branching factor 1/4 up to MaxHeight = 12, so a search visits
//     O(log n) nodes: about 2·log2(n) comparisons on average.
package skiplist
