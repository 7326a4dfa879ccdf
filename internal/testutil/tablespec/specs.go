package tablespec

const (
	kib = 1 << 10
	mib = 1 << 20
)

// Specs returns the fixture tables of sstable/testdata/leveldb/, in a fixed order. Together
// they cover: with and without snappy (and, in snappy tables, both compressed and raw blocks);
// with and without a 10-bit bloom filter; keys from 0 to 10,000 bytes; values from 0 bytes to
// 1 MiB; thousands of entries over more than a hundred blocks; restart interval 1; 1 KiB blocks; binary
// keys; an empty table; a DB-style table of internal keys.
func Specs() []Spec {
	return []Spec{
		{
			Name: "empty", Doc: "no entries at all, with a filter block",
			BloomBitsPerKey: 10, Seed: 1,
		},
		{
			Name: "single-empty-key", Doc: "one entry: the empty key with an empty value",
			Seed: 2, EmptyKey: true,
		},
		{
			Name: "plain", Doc: "no compression, no filter, default blocks",
			N: 1000, Seed: 3, KeyLen: LenRange{1, 32}, ValueLen: LenRange{0, 100},
		},
		{
			Name: "snappy", Doc: "snappy, no filter; compressed and raw blocks",
			Compression: true,
			N:           1000, Seed: 4, KeyLen: LenRange{1, 32}, ValueLen: LenRange{0, 300},
			IncompressiblePercent: 40,
		},
		{
			Name: "bloom", Doc: "no compression, 10-bit bloom filter",
			BloomBitsPerKey: 10,
			N:               1000, Seed: 5, KeyLen: LenRange{1, 32}, ValueLen: LenRange{0, 100},
		},
		{
			Name:        "snappy-bloom-many",
			Doc:         "snappy and bloom filter, 10,000 entries in over a hundred blocks",
			Compression: true, BloomBitsPerKey: 10,
			N: 10000, Seed: 6, KeyLen: LenRange{8, 24}, ValueLen: LenRange{0, 64},
			IncompressiblePercent: 25,
		},
		{
			Name: "restart1", Doc: "restart interval 1: no prefix sharing, a restart per entry",
			BloomBitsPerKey: 10, RestartInterval: 1,
			N: 500, Seed: 7, KeyLen: LenRange{1, 24}, ValueLen: LenRange{0, 64},
		},
		{
			Name: "block1k", Doc: "1 KiB blocks, snappy, bloom filter",
			Compression: true, BloomBitsPerKey: 10, BlockSize: 1 * kib,
			N: 2000, Seed: 8, KeyLen: LenRange{4, 20}, ValueLen: LenRange{0, 80},
			IncompressiblePercent: 30,
		},
		{
			Name:            "bigkeys",
			Doc:             "binary keys from 0 (the empty key) to 10,000 bytes, bloom filter, no compression",
			BloomBitsPerKey: 10,
			N:               300, Seed: 9, KeyLen: LenRange{0, 64}, ValueLen: LenRange{0, 32},
			BinaryKeys: true, EmptyKey: true,
			Big: []Big{
				{KeyLen: 1000, ValueLen: 10},
				{KeyLen: 4096, ValueLen: 0},
				{KeyLen: 5000, ValueLen: 5000, Incompressible: true},
				{KeyLen: 10000, ValueLen: 1},
				{KeyLen: 10000, ValueLen: 64 * kib, Incompressible: true},
			},
		},
		{
			Name:        "bigvalues-snappy",
			Doc:         "snappy and bloom filter, values from 0 bytes to 1 MiB (large ones repetitive, one random 100 KiB)",
			Compression: true, BloomBitsPerKey: 10,
			N: 200, Seed: 10, KeyLen: LenRange{4, 16}, ValueLen: LenRange{0, 2000},
			IncompressiblePercent: 50,
			Big: []Big{
				{KeyLen: 12, ValueLen: 1 * mib},
				{KeyLen: 12, ValueLen: 1 * mib},
				{KeyLen: 10000, ValueLen: 1 * mib},
				{KeyLen: 12, ValueLen: 100 * kib, Incompressible: true},
				{KeyLen: 12, ValueLen: 256 * kib},
			},
		},
		{
			Name:        "internal-keys",
			Doc:         "a DB-style table: internal keys, versions and deletions, snappy, bloom filter over user keys",
			Compression: true, BloomBitsPerKey: 10, InternalKeys: true,
			N: 1500, Seed: 11, KeyLen: LenRange{0, 24}, ValueLen: LenRange{0, 300},
			IncompressiblePercent: 40,
		},
	}
}

// BrokenBase is the table the broken fixtures are made from: no compression (so every block's
// bytes can be found and patched in place), a bloom filter (so a metaindex and filter block
// exist), about 24 KiB of data in several blocks (so the last data block starts past offset
// 16384 and its handle's offset is a 3-byte varint).
func BrokenBase() Spec {
	return Spec{
		Name: "base", Doc: "the good table the broken fixtures derive from",
		BloomBitsPerKey: 10,
		N:               300, Seed: 12, KeyLen: LenRange{16, 16}, ValueLen: LenRange{40, 80},
	}
}

// Broken describes one fixture of sstable/testdata/broken/.
type Broken struct {
	Name string // file name without ".ldb"
	Doc  string // how it was made from BrokenBase's table
}

// FileName is the fixture's file name, Name + ".ldb".
func (b Broken) FileName() string { return b.Name + ".ldb" }

// OutOfOrderSwap is the pair of BrokenBase entries (by index) that "out-of-order-keys" stores
// swapped: both in the first data block.
var OutOfOrderSwap = [2]int{10, 11}

// BrokenFixtures lists the broken fixtures. Each is BrokenBase's table written by C++ leveldb
// and then edited as Doc says (byte offsets are found by parsing the file, so the edits are
// exact and repeatable); checksums named "recomputed" are fixed after the edit, so the edit is
// the only thing wrong.
func BrokenFixtures() []Broken {
	return []Broken{
		{"bad-magic", "the footer's magic number with its last byte (0xdb) changed to 0xda"},
		{"truncated-footer", "the file cut 20 bytes short, in the middle of the 48-byte footer"},
		{"too-short", "only the first 40 bytes of the file, less than a footer"},
		{"flipped-data-byte", "the first value byte of the first entry of the first data block XORed with 0x01 (the block checksum no longer matches)"},
		{"lying-handle-offset", "the last index entry's block handle offset set to 2,000,000 (same 3-byte varint), past the end of the file; index block checksum recomputed"},
		{"lying-handle-size", "the last index entry's block handle size set to 16383 (same 2-byte varint), running past the end of the file; index block checksum recomputed"},
		{"bad-compression-type", "the first data block's trailer type byte set to 7 (no such compression); block checksum recomputed"},
		{"bad-restart-count", "the first data block's restart count set to 0x00ffffff, far more than the block can hold; block checksum recomputed"},
		{"out-of-order-keys", "BrokenBase's entries with entries 10 and 11 swapped (OutOfOrderSwap), written by C++ with a comparator that accepts any order and keeps full index keys"},
	}
}
