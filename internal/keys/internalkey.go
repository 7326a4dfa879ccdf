package keys

import "github.com/stratadb/strata/internal/coding"

// SeqNum is a sequence number: every write gets the next one, so a larger number is newer.
// Only the low 56 bits are usable; the trailer keeps the kind in the low 8 bits.
type SeqNum uint64

// Kind says what an internal key records: a value or a deletion.
type Kind uint8

// The kinds and limits below are part of the on-disk format (log batches, tables, memtable
// order); never change them.
const (
	KindDelete Kind = 0
	KindSet    Kind = 1

	// KindMax is the largest valid kind. Lookup keys use it so that, for equal user keys and
	// sequence numbers, the lookup key sorts before every real entry.
	KindMax = KindSet

	// MaxSeqNum is the largest sequence number: 56 bits.
	MaxSeqNum SeqNum = 1<<56 - 1

	// TrailerLen is the size of the trailer that follows the user key in an internal key.
	TrailerLen = 8
)

// Trailer packs a sequence number and a kind as leveldb does: seq<<8 | kind.
func Trailer(seq SeqNum, kind Kind) uint64 { return uint64(seq)<<8 | uint64(kind) }

// SplitTrailer is the inverse of Trailer.
func SplitTrailer(t uint64) (SeqNum, Kind) { return SeqNum(t >> 8), Kind(t) }

// MaxTrailer sorts before every other trailer of the same user key; separator keys use it.
const MaxTrailer = uint64(MaxSeqNum)<<8 | uint64(KindMax)

// AppendInternalKey appends user key, then the trailer as eight little-endian bytes.
func AppendInternalKey(dst, user []byte, seq SeqNum, kind Kind) []byte {
	dst = append(dst, user...)
	return coding.AppendFixed64(dst, Trailer(seq, kind))
}

// UserKey returns the user-key part of an internal key. A key shorter than a trailer is returned
// whole (such a key is corrupt; callers that care use Parse).
func UserKey(ikey []byte) []byte {
	if len(ikey) < TrailerLen {
		return ikey
	}
	return ikey[: len(ikey)-TrailerLen : len(ikey)-TrailerLen]
}

// TrailerOf returns the trailer of an internal key, or 0 for a key shorter than a trailer.
func TrailerOf(ikey []byte) uint64 {
	if len(ikey) < TrailerLen {
		return 0
	}
	return coding.Fixed64(ikey[len(ikey)-TrailerLen:])
}

// ParsedKey is an internal key split into its parts.
type ParsedKey struct {
	UserKey []byte
	Seq     SeqNum
	Kind    Kind
}

// Parse splits an internal key. ok is false when the key is shorter than a trailer or its kind
// is unknown.
func Parse(ikey []byte) (pk ParsedKey, ok bool) {
	if len(ikey) < TrailerLen {
		return ParsedKey{}, false
	}
	seq, kind := SplitTrailer(TrailerOf(ikey))
	return ParsedKey{UserKey: UserKey(ikey), Seq: seq, Kind: kind}, kind <= KindMax
}

// Encode appends the internal-key form of pk to dst.
func (pk ParsedKey) Encode(dst []byte) []byte {
	return AppendInternalKey(dst, pk.UserKey, pk.Seq, pk.Kind)
}
