// Package cache holds the two caches that tables are read through: a BlockCache of
// decompressed data blocks shared by all tables of a DB, and a TableCache of open table
// readers. It imports nothing of Strata's but dberr; the sstable package's BlockCache
// interface is satisfied by *BlockCache, and TableCache is generic over the reader type so
// that it needs no import of sstable either.
//
// # BlockCache
//
// A BlockCache maps (table file number, block offset) to a block's bytes: the contents a
// Reader has read, checked and decompressed, so a hit skips all three. It is an LRU sized in
// bytes and split into shards (16, fewer for small capacities; see NewBlockCache), each with
// its own mutex, map, intrusive LRU list and byte budget; xxhash of the key's 16 bytes picks
// the shard. Blocks are plain slices: the cache never reuses their memory, so eviction only
// drops the cache's reference and a reader still using a block keeps it alive through the
// garbage collector. There are no handles or reference counts on this path.
//
// Invariants:
//  1. Byte budget: each cached block is charged len(block)+EntryOverhead, and a shard's
//     charges never add up to more than its share of the capacity, so Stats().Size never
//     exceeds Stats().Capacity. A block too big for a shard is not cached at all.
//  2. Within a shard, eviction takes the least recently used block (Get and Set both count as
//     use) and happens only in Set, to make room.
//  3. After EvictFile(n) returns, no block of file n is cached until a later Set of one.
//  4. Get allocates nothing. Set allocates at most an entry (and, rarely, map growth), and
//     nothing in the steady state where each insert evicts a block: evicted entries are
//     recycled through a small free list per shard.
//
// # TableCache
//
// A TableCache keeps open readers (anything with a Close method) of recently used tables,
// with reference counts, so that a DB holds at most about MaxOpenFiles file descriptors and
// mappings. Acquire returns a *Handle holding a reference; Release gives it back. The Handle
// is the cache's per-table entry itself, so Acquire on a hit allocates nothing.
//
// Invariants:
//  1. A referenced table is never closed: a table leaves the cache through capacity, Evict
//     or Close, but its Close is called only once its last reference has been released.
//  2. At most capacity unreferenced tables are open. When more than capacity tables are
//     cached, the least recently released unreferenced ones are dropped and closed; if all of
//     them are referenced the cache stays over capacity, and each is closed as its last
//     reference goes while the cache is still over. So open tables <= capacity + referenced
//     tables, at every instant.
//  3. A table is opened at most once at a time: concurrent Acquires of a file that is being
//     opened wait for that open and share its table or its error. Errors are not cached.
//  4. Each table is closed exactly once, and each error its Close returns is reported once:
//     by TableCache.Close if Close closed the table or if no OnCloseError callback was given,
//     otherwise to the callback.
//
// # Concurrency
//
// All methods of BlockCache, TableCache and Handle are safe for concurrent use. The block
// cache's lock is per shard and is held only for a map lookup and a few pointer updates; the
// table cache has one lock, held likewise briefly and never while a table is opened or
// closed. A table's open function and Close methods run on the goroutine that needs them,
// without any cache lock held.
package cache
