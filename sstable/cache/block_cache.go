package cache

import (
	"encoding/binary"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// EntryOverhead is the number of bytes a BlockCache charges for each cached block on top of
// len(block): what the cache itself spends on an entry. The arithmetic, on 64-bit platforms:
//
//	blockEntry: key 16 + slice header 24 + LRU links 16 + per-file links 16 = 72 bytes,
//	            which the allocator rounds up to its 80-byte size class            80
//	map slot:   key 16 + pointer 8 + 1 control byte = 25 bytes at the full load of
//	            7/8, about 38 at the average load of a map between doublings       38
//	per-file index slot and free-list slack, rounded up                           10
//	                                                                              ---
//	                                                                              128
//
// Charging len(block) alone (as leveldb does) would let a cache of many small blocks use far
// more memory than its capacity says; charging cap(block) would punish callers for how their
// allocator rounded. TestEntryOverheadCoversEntry keeps the constant honest if blockEntry grows.
const EntryOverhead = 128

const (
	// maxShards is the shard count of a cache big enough. 16 shards keep two concurrent Gets on
	// different blocks from contending on one mutex most of the time at the core counts an
	// embedded store sees, while each shard of the default 8 MiB cache still holds ~120 blocks,
	// so per-shard LRU stays a close approximation of a global LRU.
	maxShards = 16
	// minShardBlocks is how many typical blocks a shard must be able to hold: a smaller cache
	// halves its shard count until each shard holds at least this many 4 KiB blocks, so that
	// small caches are not split into shards too small to keep a working set (a 64 KiB cache
	// has one shard; 16 shards start at 16 * 8 * (4096+128) bytes = 528 KiB).
	minShardBlocks = 8
	// typicalBlock is the default table block size that minShardBlocks counts in.
	typicalBlock = 4096
	// maxFreeEntries bounds each shard's free list of entries. Steady-state Set evicts about
	// one entry per insert, so a few spare entries make it allocation-free; the bound only
	// keeps an EvictFile of a big table from pinning thousands of spare entries.
	maxFreeEntries = 16
)

// blockKey identifies a block: the table's file number and the block's offset in that file.
type blockKey struct {
	fileNum, offset uint64
}

// blockEntry is one cached block. It is linked into its shard's LRU list and into the chain
// of blocks of the same file in that shard (the per-file index that makes EvictFile cheap).
type blockEntry struct {
	key                blockKey
	block              []byte
	prev, next         *blockEntry // LRU list; the shard's sentinel's next is the most recent
	filePrev, fileNext *blockEntry // blocks of key.fileNum in this shard; nil-terminated
}

func (e *blockEntry) charge() int { return len(e.block) + EntryOverhead }

// BlockCache is a sharded LRU cache of decompressed table blocks, keyed by (file number,
// block offset) and sized in bytes. It satisfies sstable.BlockCache. See the package
// documentation for its invariants; all methods are safe for concurrent use.
type BlockCache struct {
	shards   []blockShard
	mask     uint64 // len(shards)-1; len(shards) is a power of two
	capacity int
}

// blockShard is one LRU of the cache, with its own lock and byte budget.
type blockShard struct {
	capacity int // bytes; never changes

	mu struct {
		sync.Mutex
		size    int // sum of charge() over entries
		entries map[blockKey]*blockEntry
		files   map[uint64]*blockEntry // head of each file's chain
		lru     blockEntry             // sentinel of the circular LRU list
		free    *blockEntry            // spare entries, linked by next
		nfree   int
	}

	// Counters are only written under mu (where the cache line is already ours, so they cost
	// no extra contention) and are atomic so that Stats can read them without the lock.
	hits, misses, inserts, evictions atomic.Uint64

	_ [64]byte // keep neighbouring shards' locks off one cache line
}

// NewBlockCache returns a cache that holds up to capacity bytes of blocks, each charged
// len(block)+EntryOverhead. A capacity of 0 or less gives a cache that holds nothing but
// still counts misses.
func NewBlockCache(capacity int) *BlockCache {
	return newBlockCache(capacity, shardCount(capacity))
}

// shardCount returns the number of shards for a cache of capacity bytes: maxShards, halved
// while a shard could not hold minShardBlocks typical blocks; always a power of two.
func shardCount(capacity int) int {
	n := maxShards
	for n > 1 && capacity/n < minShardBlocks*(typicalBlock+EntryOverhead) {
		n /= 2
	}
	return n
}

// newBlockCache returns a cache of capacity bytes split over shards shards, a power of two.
// Tests use one shard to make LRU order deterministic.
func newBlockCache(capacity, shards int) *BlockCache {
	if shards < 1 || shards&(shards-1) != 0 {
		panic("sstable/cache: shard count must be a power of two")
	}
	if capacity < 0 {
		capacity = 0
	}
	c := &BlockCache{shards: make([]blockShard, shards), mask: uint64(shards - 1), capacity: capacity}
	for i := range c.shards {
		s := &c.shards[i]
		// Spread the remainder so that the shards' capacities add up to exactly capacity.
		s.capacity = capacity / shards
		if i < capacity%shards {
			s.capacity++
		}
		s.mu.entries = make(map[blockKey]*blockEntry)
		s.mu.files = make(map[uint64]*blockEntry)
		s.mu.lru.next = &s.mu.lru
		s.mu.lru.prev = &s.mu.lru
	}
	return c
}

// shard returns the shard that holds key k: xxhash of its 16 little-endian bytes.
func (c *BlockCache) shard(k blockKey) *blockShard {
	if c.mask == 0 {
		return &c.shards[0]
	}
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], k.fileNum)
	binary.LittleEndian.PutUint64(b[8:], k.offset)
	return &c.shards[xxhash.Sum64(b[:])&c.mask]
}

// Get returns the block cached for (fileNum, offset) and marks it most recently used. The
// caller must not modify the block. It does not allocate.
func (c *BlockCache) Get(fileNum, offset uint64) ([]byte, bool) {
	k := blockKey{fileNum, offset}
	s := c.shard(k)
	s.mu.Lock()
	e, ok := s.mu.entries[k]
	if !ok {
		s.misses.Add(1)
		s.mu.Unlock()
		return nil, false
	}
	if s.mu.lru.next != e {
		s.unlinkLRULocked(e)
		s.pushFrontLocked(e)
	}
	b := e.block
	s.hits.Add(1)
	s.mu.Unlock()
	return b, true
}

// Set caches block for (fileNum, offset) as the most recently used entry, replacing any
// block already cached there, and evicts least recently used blocks of the shard until it is
// within its budget again. A block whose charge exceeds a shard's capacity is not cached (and
// any block cached under the same key is dropped, so Get never returns a block Set replaced).
// The cache keeps block itself, not a copy; nobody may modify it afterwards.
func (c *BlockCache) Set(fileNum, offset uint64, block []byte) {
	k := blockKey{fileNum, offset}
	s := c.shard(k)
	charge := len(block) + EntryOverhead
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.mu.entries[k]
	if charge > s.capacity {
		if ok {
			s.removeLocked(e)
		}
		return
	}
	if ok {
		s.mu.size += charge - e.charge()
		e.block = block
		if s.mu.lru.next != e {
			s.unlinkLRULocked(e)
			s.pushFrontLocked(e)
		}
	} else {
		e = s.newEntryLocked()
		e.key = k
		e.block = block
		s.mu.entries[k] = e
		s.linkFileLocked(e)
		s.pushFrontLocked(e)
		s.mu.size += charge
	}
	s.inserts.Add(1)
	// e is at the front and charge <= capacity, so the loop stops before reaching it.
	for s.mu.size > s.capacity {
		s.removeLocked(s.mu.lru.prev)
		s.evictions.Add(1)
	}
}

// EvictFile drops every cached block of table fileNum, whose file is being deleted. Its cost
// is one lock of each shard plus O(1) per block of that file in the cache, found through the
// per-file index; it does not scan the cache.
func (c *BlockCache) EvictFile(fileNum uint64) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for e := s.mu.files[fileNum]; e != nil; {
			next := e.fileNext
			s.removeLocked(e)
			e = next
		}
		s.mu.Unlock()
	}
}

// BlockCacheStats is a snapshot of a BlockCache's counters. Counters are read shard by
// shard, so under concurrent use the sums need not describe one instant.
type BlockCacheStats struct {
	Hits      uint64 // Gets that found their block
	Misses    uint64 // Gets that did not
	Inserts   uint64 // Sets that stored their block (new entries and replacements)
	Evictions uint64 // blocks dropped to stay within capacity (not EvictFile or replacements)
	Size      int    // bytes charged: the sum of len(block)+EntryOverhead over cached blocks
	Capacity  int    // the byte budget; Size never exceeds it
	Entries   int    // blocks cached
}

// Stats returns the cache's counters, summed over its shards.
func (c *BlockCache) Stats() BlockCacheStats {
	st := BlockCacheStats{Capacity: c.capacity}
	for i := range c.shards {
		s := &c.shards[i]
		st.Hits += s.hits.Load()
		st.Misses += s.misses.Load()
		st.Inserts += s.inserts.Load()
		st.Evictions += s.evictions.Load()
		s.mu.Lock()
		st.Size += s.mu.size
		st.Entries += len(s.mu.entries)
		s.mu.Unlock()
	}
	return st
}

// newEntryLocked takes an entry from the free list, or allocates one.
func (s *blockShard) newEntryLocked() *blockEntry {
	e := s.mu.free
	if e == nil {
		return new(blockEntry)
	}
	s.mu.free = e.next
	s.mu.nfree--
	e.next = nil
	return e
}

// removeLocked drops e from the shard: its map entry, its LRU and file links and its charge.
// The entry goes to the free list with its block reference cleared, so a block nobody else
// uses becomes garbage at once.
func (s *blockShard) removeLocked(e *blockEntry) {
	s.mu.size -= e.charge()
	delete(s.mu.entries, e.key)
	s.unlinkLRULocked(e)
	s.unlinkFileLocked(e)
	*e = blockEntry{}
	if s.mu.nfree < maxFreeEntries {
		e.next = s.mu.free
		s.mu.free = e
		s.mu.nfree++
	}
}

func (s *blockShard) pushFrontLocked(e *blockEntry) {
	head := &s.mu.lru
	e.prev = head
	e.next = head.next
	head.next.prev = e
	head.next = e
}

func (s *blockShard) unlinkLRULocked(e *blockEntry) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

// linkFileLocked puts e at the head of its file's chain.
func (s *blockShard) linkFileLocked(e *blockEntry) {
	head := s.mu.files[e.key.fileNum]
	e.filePrev = nil
	e.fileNext = head
	if head != nil {
		head.filePrev = e
	}
	s.mu.files[e.key.fileNum] = e
}

// unlinkFileLocked takes e out of its file's chain, dropping the file from the index when e
// was its last block.
func (s *blockShard) unlinkFileLocked(e *blockEntry) {
	if e.fileNext != nil {
		e.fileNext.filePrev = e.filePrev
	}
	if e.filePrev != nil {
		e.filePrev.fileNext = e.fileNext
	} else if e.fileNext != nil {
		s.mu.files[e.key.fileNum] = e.fileNext
	} else {
		delete(s.mu.files, e.key.fileNum)
	}
	e.filePrev, e.fileNext = nil, nil
}
