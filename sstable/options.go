package sstable

import (
	"bytes"
	"encoding/binary"

	"github.com/stratadb/strata/internal/keys"
)

// Compression selects how the Writer stores blocks.
type Compression uint8

const (
	// DefaultCompression is leveldb's default: SnappyCompression.
	DefaultCompression Compression = iota
	// NoCompression stores every block as is.
	NoCompression
	// SnappyCompression stores a block snappy-compressed when that saves at least 12.5% of its
	// size, and as is otherwise.
	SnappyCompression
)

// String names the compression setting.
func (c Compression) String() string {
	switch c {
	case DefaultCompression:
		return "default"
	case NoCompression:
		return "none"
	case SnappyCompression:
		return "snappy"
	}
	return "unknown"
}

// FilterPolicy builds and queries the per-block filters of a table (leveldb's FilterPolicy).
// Implementations must be safe for concurrent use and must never change the filters they build
// for a given Name: the name is written into the table, and readers look filters up by it.
type FilterPolicy interface {
	// Name identifies the filter encoding; the filter block's metaindex key is "filter."+Name().
	Name() string
	// AppendFilter appends to dst a filter for keys and returns the extended slice.
	AppendFilter(dst []byte, keys [][]byte) []byte
	// MayContain reports whether key may be among the keys filter was built from. It must
	// return true for every one of them, and must not panic on any filter bytes.
	MayContain(filter, key []byte) bool
}

// BlockCache holds decompressed, verified data blocks shared by the readers of a DB, keyed by
// (file number, block offset). It must be safe for concurrent use. A block passed to Set and
// returned by Get is never modified by anyone; the cache may drop it at any time (the slices a
// Reader handed out keep the memory alive). Package sstable/cache provides a sharded LRU.
type BlockCache interface {
	// Get returns the block stored for (fileNum, offset), if any.
	Get(fileNum, offset uint64) ([]byte, bool)
	// Set stores block for (fileNum, offset).
	Set(fileNum, offset uint64, block []byte)
}

// WriterOptions configure a Writer. The zero value gives leveldb's defaults: bytewise order,
// 4 KiB blocks, a restart point every 16 entries, snappy, no filter.
type WriterOptions struct {
	// Comparator orders the keys; nil means keys.Bytewise. Its Separator and Successor shorten
	// index keys.
	Comparator keys.Comparator
	// BlockSize is the target size of a data block before compression; <= 0 means
	// DefaultBlockSize. A block is cut after the entry that brings its estimated size to
	// BlockSize or more.
	BlockSize int
	// RestartInterval is the number of entries between restart points in data blocks; <= 0
	// means DefaultRestartInterval. The index block always uses 1.
	RestartInterval int
	// Compression selects block compression; the zero value is snappy.
	Compression Compression
	// Filter builds the filter block; nil writes no filter block.
	Filter FilterPolicy
	// FilterKey maps a table key to the key the filter holds; nil is the identity. DB tables
	// pass keys.UserKey, so their filters hold user keys as leveldb's do.
	FilterKey func([]byte) []byte
}

// ReaderOptions configure Open.
type ReaderOptions struct {
	// Comparator is the order the table was written in; nil means keys.Bytewise.
	Comparator keys.Comparator
	// Filter is the policy whose filter block the reader uses, if the table has one; nil
	// ignores filters. A bloom policy (Name BloomFilterName) also uses filters goleveldb wrote
	// under its older name "leveldb.BuiltinBloomFilter".
	Filter FilterPolicy
	// FilterKey maps a lookup key to the filter's key, as WriterOptions.FilterKey; nil is the
	// identity.
	FilterKey func([]byte) []byte
	// Cache, if not nil, holds decompressed data blocks across readers.
	Cache BlockCache
	// FileNum identifies the table in Cache. Readers that share a Cache must have distinct
	// FileNums (a DB uses the table's file number).
	FileNum uint64
}

// ReadOptions control one Get or iterator.
type ReadOptions struct {
	// VerifyChecksums re-checks the checksum of a block each time it is served from the file
	// mapping. Blocks read from the file with ReadAt or decompressed are always checked, and
	// every block is checked the first time a Reader uses it, whatever this says.
	VerifyChecksums bool
	// DontFillCache leaves blocks read by this call out of the block cache (for scans that
	// would otherwise evict the working set, such as compactions).
	DontFillCache bool
	// Unmapped reads data blocks with ReadAt even from a mapped table, and checks each one's
	// checksum. For a scan that reads a table once (a compaction): pages read through the
	// mapping stay mapped into the process until the table closes, and count in its resident
	// memory; pages read with ReadAt stay only in the operating system's page cache.
	Unmapped bool
}

// order compares keys, calling bytes.Compare directly for the bytewise comparator.
type order struct {
	cmp      keys.Comparator
	bytewise bool
	// prefixKind says how the first eight bytes of a key order it, for the index's fast path:
	// prefixNone (no such shortcut), prefixWhole (bytewise: the key's own bytes) or
	// prefixUser (internal keys over bytewise user keys: the user key's bytes).
	prefixKind uint8
}

const (
	prefixNone = iota
	prefixWhole
	prefixUser
)

func newOrder(c keys.Comparator) order {
	if c == nil {
		c = keys.Bytewise
	}
	o := order{cmp: c, bytewise: keys.IsBytewise(c)}
	if o.bytewise {
		o.prefixKind = prefixWhole
	} else if ic, ok := c.(*keys.InternalComparator); ok && keys.IsBytewise(ic.User) {
		o.prefixKind = prefixUser
	}
	return o
}

// prefix returns the first eight bytes of the part of key that orders bytewise, big-endian and
// zero-padded. If prefix(a) < prefix(b) then a < b: at the first differing byte either both
// keys have a byte there, or a has ended (a padding zero) and is a prefix of b. Equal prefixes
// decide nothing. Only meaningful when prefixKind != prefixNone.
func (o *order) prefix(key []byte) uint64 {
	if o.prefixKind == prefixUser {
		key = keys.UserKey(key)
	}
	if len(key) >= 8 {
		return binary.BigEndian.Uint64(key)
	}
	var p uint64
	for i, c := range key {
		p |= uint64(c) << (56 - 8*i)
	}
	return p
}

func (o order) compare(a, b []byte) int {
	if o.bytewise {
		return bytes.Compare(a, b)
	}
	return o.cmp.Compare(a, b)
}

func identityKey(k []byte) []byte { return k }
