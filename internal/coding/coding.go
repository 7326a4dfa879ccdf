// Package coding holds the integer encodings of leveldb's file formats: little-endian fixed-width
// integers and LEB128 varints (seven bits per byte, low group first, high bit set on every byte
// but the last).
//
// Invariant: decoders never read past the slice they are given and never panic; a truncated or
// overlong varint is reported by a zero or negative length, never by a wrong value. Encoders
// append to a caller's slice so hot paths can reuse buffers without allocating.
package coding

import "encoding/binary"

// MaxVarintLen32 and MaxVarintLen64 are the longest encodings of a 32- and 64-bit varint.
const (
	MaxVarintLen32 = 5
	MaxVarintLen64 = 10
)

// Fixed32 decodes a little-endian uint32 from the first four bytes of b. b must hold them.
func Fixed32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }

// Fixed64 decodes a little-endian uint64 from the first eight bytes of b. b must hold them.
func Fixed64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// PutFixed32 writes v into the first four bytes of b.
func PutFixed32(b []byte, v uint32) { binary.LittleEndian.PutUint32(b, v) }

// PutFixed64 writes v into the first eight bytes of b.
func PutFixed64(b []byte, v uint64) { binary.LittleEndian.PutUint64(b, v) }

// AppendFixed32 appends v as four little-endian bytes.
func AppendFixed32(dst []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(dst, v) }

// AppendFixed64 appends v as eight little-endian bytes.
func AppendFixed64(dst []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(dst, v) }

// AppendVarint32 appends the varint encoding of v (one to five bytes).
func AppendVarint32(dst []byte, v uint32) []byte { return AppendVarint64(dst, uint64(v)) }

// AppendVarint64 appends the varint encoding of v (one to ten bytes).
func AppendVarint64(dst []byte, v uint64) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// PutVarint32 writes the varint encoding of v at the start of b, which must have room for
// MaxVarintLen32 bytes, and returns the number of bytes written.
func PutVarint32(b []byte, v uint32) int {
	i := 0
	for v >= 0x80 {
		b[i] = byte(v) | 0x80
		v >>= 7
		i++
	}
	b[i] = byte(v)
	return i + 1
}

// VarintLen returns the number of bytes the varint encoding of v takes.
func VarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// Varint32 decodes a varint that must fit in 32 bits from the start of b. It returns the value
// and the number of bytes read; n == 0 means b ended inside the varint, n < 0 means the encoding
// is longer than five bytes or its value exceeds 32 bits.
func Varint32(b []byte) (v uint32, n int) {
	// Fast path, small enough to inline: one byte, the common case for lengths in blocks and
	// batches.
	if len(b) > 0 && b[0] < 0x80 {
		return uint32(b[0]), 1
	}
	x, n := varint(b, MaxVarintLen32, 0x0f)
	return uint32(x), n
}

// Varint64 decodes a varint of at most 64 bits from the start of b, with the same convention for
// n as Varint32.
func Varint64(b []byte) (v uint64, n int) {
	if len(b) > 0 && b[0] < 0x80 {
		return uint64(b[0]), 1
	}
	return varint(b, MaxVarintLen64, 1)
}

// varint decodes a varint of at most maxLen bytes whose last byte may be at most last (the bits
// that still fit, with no continuation bit): 0x0f for 32 bits, 1 for 64. n follows Varint32's
// convention; on an error v is 0.
func varint(b []byte, maxLen int, last byte) (v uint64, n int) {
	for i := 0; i < maxLen; i++ {
		if i >= len(b) {
			return 0, 0
		}
		c := b[i]
		if i == maxLen-1 && c > last {
			return 0, -(i + 1) // more bits than fit, or a continuation bit on the last byte
		}
		v |= uint64(c&0x7f) << (7 * uint(i))
		if c < 0x80 {
			return v, i + 1
		}
	}
	return 0, -maxLen
}

// LengthPrefixed decodes a varint32 length followed by that many bytes from the start of b. It
// returns the bytes (aliasing b), the total bytes consumed, and ok == false when the length is
// malformed or runs past the end of b.
func LengthPrefixed(b []byte) (s []byte, n int, ok bool) {
	l, m := Varint32(b)
	if m <= 0 || uint64(l) > uint64(len(b)-m) {
		return nil, 0, false
	}
	end := m + int(l)
	return b[m:end:end], end, true
}

// AppendLengthPrefixed appends a varint32 length and then s.
func AppendLengthPrefixed(dst, s []byte) []byte {
	dst = AppendVarint32(dst, uint32(len(s)))
	return append(dst, s...)
}
