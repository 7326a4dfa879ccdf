package sstable

import "github.com/stratadb/strata/internal/coding"

// A block handle is written as two varint64s:
//
//	handle := offset:varint64 size:varint64    (at most MaxHandleLen bytes)
//
// size counts the block contents only; the BlockTrailerLen-byte trailer follows them.

// BlockHandle locates a block in a table file: the offset of its first byte and the length of
// its stored contents, not counting the trailer.
type BlockHandle struct {
	Offset uint64
	Size   uint64
}

// AppendTo appends the encoding of h to dst and returns the extended slice.
func (h BlockHandle) AppendTo(dst []byte) []byte {
	dst = coding.AppendVarint64(dst, h.Offset)
	return coding.AppendVarint64(dst, h.Size)
}

// DecodeBlockHandle decodes the handle at the start of b, as an index or metaindex entry's
// value holds it. n is the number of bytes it took; n <= 0 means b does not start with a valid
// handle (a varint runs past b or past ten bytes). It never reads past b.
func DecodeBlockHandle(b []byte) (h BlockHandle, n int) { return decodeHandle(b) }

// decodeHandle decodes a handle from the start of b. n is the number of bytes read; n <= 0
// means b does not start with a valid handle.
func decodeHandle(b []byte) (h BlockHandle, n int) {
	off, n1 := coding.Varint64(b)
	if n1 <= 0 {
		return BlockHandle{}, -1
	}
	size, n2 := coding.Varint64(b[n1:])
	if n2 <= 0 {
		return BlockHandle{}, -1
	}
	return BlockHandle{Offset: off, Size: size}, n1 + n2
}

// end returns the offset just past the block's trailer and false if that overflows.
func (h BlockHandle) end() (uint64, bool) {
	e := h.Offset + h.Size
	if e < h.Offset || e+BlockTrailerLen < e {
		return 0, false
	}
	return e + BlockTrailerLen, true
}
