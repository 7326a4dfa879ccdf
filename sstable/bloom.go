package sstable

import (
	"math/bits"

	"github.com/stratadb/strata/internal/coding"
)

// A bloom filter, as leveldb's BuiltinBloomFilter2 builds it, for n keys at b bits per key:
//
//	filter := bitarray:byte{m/8} k:uint8
//
// where m = max(n*b, 64) rounded up to a multiple of 8 and k = floor(b*0.69) clamped to
// [1, 30] (0.69 ~ ln 2 minimises false positives; rounding down saves a probe). Bit i is bit
// i%8 of byte i/8. A key with hash h = Hash(key, 0xbc9f1d34) sets or probes k bits: h % m,
// then h += delta with delta = h rotated right by 17 bits, all in uint32 arithmetic. A filter
// shorter than 2 bytes matches nothing; a filter whose k byte is above 30 matches everything
// (leveldb reserves those values for other encodings).

// NewBloomPolicy returns leveldb's bloom filter policy ("leveldb.BuiltinBloomFilter2") with
// bitsPerKey bits per key; 10 gives about 1% false positives. Values below 0 count as 0 (every
// filter then has the minimum 64 bits).
func NewBloomPolicy(bitsPerKey int) FilterPolicy {
	bitsPerKey = max(bitsPerKey, 0)
	// The float product matches leveldb's static_cast<size_t>(bits_per_key * 0.69) exactly.
	k := int(float64(bitsPerKey) * 0.69)
	k = min(max(k, 1), maxBloomProbes)
	return &bloomPolicy{bitsPerKey: bitsPerKey, k: k}
}

type bloomPolicy struct {
	bitsPerKey int
	k          int
}

// Name returns BloomFilterName.
func (p *bloomPolicy) Name() string { return BloomFilterName }

// AppendFilter appends a filter for keys.
func (p *bloomPolicy) AppendFilter(dst []byte, keys [][]byte) []byte {
	nbits := uint64(len(keys)) * uint64(p.bitsPerKey)
	if nbits < 64 {
		nbits = 64
	}
	nbytes := int((nbits + 7) / 8)
	nbits = uint64(nbytes) * 8

	start := len(dst)
	dst = append(dst, make([]byte, nbytes+1)...)
	array := dst[start : start+nbytes]
	dst[start+nbytes] = byte(p.k)
	for _, key := range keys {
		h := bloomHash(key)
		delta := bits.RotateLeft32(h, -17)
		for j := 0; j < p.k; j++ {
			pos := bitPos(h, nbits)
			array[pos/8] |= 1 << (pos % 8)
			h += delta
		}
	}
	return dst
}

// MayContain reports whether key may be in the set filter was built from.
func (p *bloomPolicy) MayContain(filter, key []byte) bool {
	return bloomMayContain(filter, key)
}

func bloomMayContain(filter, key []byte) bool {
	n := len(filter)
	if n < 2 {
		return false
	}
	k := int(filter[n-1])
	if k > maxBloomProbes {
		return true
	}
	array := filter[:n-1]
	nbits := uint64(n-1) * 8
	h := bloomHash(key)
	delta := bits.RotateLeft32(h, -17)
	for j := 0; j < k; j++ {
		pos := bitPos(h, nbits)
		if array[pos/8]&(1<<(pos%8)) == 0 {
			return false
		}
		h += delta
	}
	return true
}

// bitPos is h % nbits, with 32-bit division when nbits fits (the same value: h < 2^32).
func bitPos(h uint32, nbits uint64) uint64 {
	if nbits <= 1<<32-1 {
		return uint64(h % uint32(nbits))
	}
	return uint64(h) % nbits
}

func bloomHash(key []byte) uint32 { return leveldbHash(key, bloomSeed) }

// leveldbHash is leveldb's Hash (util/hash.cc), a murmur-like hash: the length mixed into the
// seed, then four bytes at a time (little-endian word added, multiplied, folded with its high
// half), then the last one to three bytes as an unsigned little-endian value, multiplied and
// folded by 24 bits. Tail bytes are unsigned, as in leveldb 1.23 (releases before 2018
// sign-extended them on platforms with signed char, giving other filters for keys whose tail
// has bytes >= 0x80).
func leveldbHash(b []byte, seed uint32) uint32 {
	h := seed ^ uint32(len(b))*hashMul
	for ; len(b) >= 4; b = b[4:] {
		h += coding.Fixed32(b)
		h *= hashMul
		h ^= h >> 16
	}
	var tail uint32
	switch len(b) {
	case 3:
		tail = uint32(b[2])<<16 | uint32(b[1])<<8 | uint32(b[0])
	case 2:
		tail = uint32(b[1])<<8 | uint32(b[0])
	case 1:
		tail = uint32(b[0])
	default:
		return h
	}
	h += tail
	h *= hashMul
	h ^= h >> 24
	return h
}
