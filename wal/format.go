package wal

// The log format's constants. They are leveldb's on-disk format: never change them.
//
// A log is a sequence of blockSize-byte blocks (the last may be short). A block holds physical
// records, each a headerSize-byte header followed by its payload:
//
//	checksum uint32 LE  masked crc32c of the type byte followed by the payload
//	length   uint16 LE  payload length
//	type     uint8      fullType, firstType, middleType or lastType
//	payload  [length]byte
//
// A record never crosses a block boundary; a block tail shorter than a header is zero-filled.
const (
	blockSize  = 32 * 1024
	headerSize = 4 + 2 + 1

	// zeroType is never written by a log writer: a header of all zeros is zeroed or
	// preallocated space, which readers skip.
	zeroType = 0
	// fullType holds a whole record.
	fullType = 1
	// firstType, middleType and lastType hold the first, inner and last fragments of a record
	// that does not fit in the rest of its block.
	firstType  = 2
	middleType = 3
	lastType   = 4

	maxType = lastType
)

// typeName names a record type for error messages.
func typeName(t byte) string {
	switch t {
	case zeroType:
		return "ZERO"
	case fullType:
		return "FULL"
	case firstType:
		return "FIRST"
	case middleType:
		return "MIDDLE"
	case lastType:
		return "LAST"
	}
	return "unknown"
}
