package sstable

// The constants below are part of the table format that Strata shares with C++ leveldb 1.23 and
// goleveldb. Never change them: every table ever written depends on them. Values that leveldb
// retired or that later versions added stay here as comments, so nobody reuses them by accident.
const (
	// BlockTrailerLen is the size of the trailer after every block: one compression-type byte,
	// then the masked crc32c of the block contents followed by that byte, as a fixed32.
	BlockTrailerLen = 5

	// FooterLen is the size of the footer that ends every table: the metaindex and index block
	// handles, zero padding up to 40 bytes, then Magic as a fixed64.
	FooterLen = 48

	// Magic is the last eight bytes of every table, little-endian (leveldb's kTableMagicNumber).
	Magic uint64 = 0xdb4775248b80fb57

	// MaxHandleLen is the longest encoding of a BlockHandle: two varint64s of ten bytes each.
	// The footer reserves exactly two of them (40 bytes).
	MaxHandleLen = 2 * 10

	// Block compression types, the first byte of a block trailer.
	typeNone   = 0 // contents stored as is
	typeSnappy = 1 // contents are one snappy block (the raw format, not the framed stream)
	// 2 is zstd in leveldb releases after 1.23; Strata does not read it (an unknown type).

	// filterBaseLg: a filter covers the data blocks that start in one 2 KiB (1<<11) window of
	// file offsets. The value is written as the last byte of the filter block.
	filterBaseLg = 11

	// FilterMetaPrefix + a policy name is the metaindex key of that policy's filter block.
	FilterMetaPrefix = "filter."

	// BloomFilterName is the name of leveldb's built-in bloom filter; its metaindex key is
	// "filter.leveldb.BuiltinBloomFilter2".
	BloomFilterName = "leveldb.BuiltinBloomFilter2"
	// LegacyBloomFilterName is the name goleveldb writes for the same bits. Strata reads it and
	// never writes it. (leveldb's own "leveldb.BuiltinBloomFilter", before 2012, hashed
	// differently; no reader uses it any more.)
	LegacyBloomFilterName = "leveldb.BuiltinBloomFilter"

	// bloomSeed is the seed of leveldb's Hash when it hashes keys for a bloom filter.
	bloomSeed = 0xbc9f1d34
	// hashMul is the multiplier of leveldb's Hash.
	hashMul = 0xc6a4a793
	// maxBloomProbes: a filter whose last byte (the probe count) is larger is a reserved encoding
	// and matches every key.
	maxBloomProbes = 30

	// indexRestartInterval: leveldb stores every index entry whole (a restart point each), so
	// a seek in the index block is a pure binary search.
	indexRestartInterval = 1
)

// Defaults that are not part of the format: a table written with other values is still
// readable by every implementation.
const (
	// DefaultBlockSize is the target size of a data block's uncompressed contents.
	DefaultBlockSize = 4096
	// DefaultRestartInterval is the number of entries between restart points in data blocks.
	DefaultRestartInterval = 16
	// DefaultBloomBitsPerKey is leveldb's usual bloom filter size, about 1% false positives.
	DefaultBloomBitsPerKey = 10

	// writeBufferSize is how much the Writer buffers before it writes to the file: one write
	// call per 64 KiB, not one per 4 KiB block.
	writeBufferSize = 64 << 10

	// maxSnappyRatio bounds the decoded length a snappy block may claim. The format's densest
	// element is a copy with a 2-byte offset: 3 input bytes that produce at most 64 output
	// bytes, so no valid block expands by more than 64/3 (about 21.3) times; 22 leaves a margin.
	// A claimed length beyond it is corruption, refused before anything is allocated.
	maxSnappyRatio = 22
)
