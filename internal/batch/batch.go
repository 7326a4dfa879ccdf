// Package batch encodes and decodes leveldb's WriteBatch: the payload of every write-ahead-log
// record, and the unit in which the DB applies writes to a memtable. The byte layout and the
// reader's checks are specified in docs/format/batch.md.
//
// A batch is a 12-byte header (the sequence number of its first entry, 8 bytes little-endian,
// then the entry count, 4 bytes little-endian) followed by the entries back to back. Entry i of
// a batch whose header says sequence s is written at sequence s+i.
//
// Invariants:
//
//  1. A Repr is always at least HeaderLen bytes once any method has touched it, and its count
//     field equals the number of entries appended through it (Append adds the other batch's
//     count).
//  2. Encoding allocates only when the Repr's capacity is exhausted; decoding never allocates:
//     keys and values returned by a Reader alias the batch bytes.
//  3. A Reader never trusts a length or a count, never panics, and reports every malformed
//     batch with a *dberr.CorruptionError naming the file and offset its caller gave. It accepts
//     exactly the byte strings that a Repr can produce (lengths must be minimal varints), so
//     decoding then re-encoding gives back the same bytes.
//
// Concurrency: a Repr and a Reader belong to one goroutine at a time; neither locks. Readers of
// the same bytes may run concurrently, since decoding does not write.
package batch

import (
	"github.com/stratadb/strata/internal/coding"
	"github.com/stratadb/strata/internal/keys"
)

// The layout constants are part of the on-disk format (they match leveldb 1.23's
// db/write_batch.cc); never change them.
const (
	// HeaderLen is the size of the header: sequence number (8 bytes) then count (4 bytes).
	HeaderLen = 12

	seqOffset   = 0
	countOffset = 8

	// tagDelete and tagPut are the entry tags; they equal keys.KindDelete and keys.KindSet,
	// the kinds the entries become in the memtable.
	tagDelete = byte(keys.KindDelete)
	tagPut    = byte(keys.KindSet)
)

// Repr is the encoded form of a batch, exactly as it is written to the log. The zero value is an
// empty batch (the first append writes the header). The methods that grow the batch take a
// pointer; those that read or patch the header take a value, and must not be called on a Repr
// shorter than HeaderLen except where noted.
//
// A batch cannot hold 2^32 entries: each entry takes at least two bytes, so that would need a
// batch of 8 GiB, and the DB rejects batches that large long before.
type Repr []byte

// New returns an empty batch that reuses dst's storage: dst[:0] with a zeroed header.
func New(dst []byte) Repr {
	var zero [HeaderLen]byte
	return append(Repr(dst[:0]), zero[:]...)
}

// ensureHeader gives a zero or short Repr its header.
func (r *Repr) ensureHeader() {
	if len(*r) < HeaderLen {
		*r = New(*r)
	}
}

// Reset empties the batch, keeping its storage.
func (r *Repr) Reset() { *r = New(*r) }

// AppendPut appends an entry that sets key to value.
func (r *Repr) AppendPut(key, value []byte) {
	r.ensureHeader()
	b := append(*r, tagPut)
	b = coding.AppendLengthPrefixed(b, key)
	b = coding.AppendLengthPrefixed(b, value)
	*r = b
	r.SetCount(r.Count() + 1)
}

// AppendDelete appends an entry that deletes key.
func (r *Repr) AppendDelete(key []byte) {
	r.ensureHeader()
	b := append(*r, tagDelete)
	*r = coding.AppendLengthPrefixed(b, key)
	r.SetCount(r.Count() + 1)
}

// Append appends the entries of other after r's own and adds other's count to r's; r's sequence
// number is kept. Group commit uses it to concatenate the batches of a write group into one log
// record. other is not checked (it is a batch the caller built); a Repr shorter than HeaderLen
// counts as empty.
func (r *Repr) Append(other Repr) {
	r.ensureHeader()
	if len(other) <= HeaderLen {
		return
	}
	*r = append(*r, other[HeaderLen:]...)
	r.SetCount(r.Count() + other.Count())
}

// Count returns the number of entries the header records, or 0 for a Repr shorter than
// HeaderLen.
func (r Repr) Count() uint32 {
	if len(r) < HeaderLen {
		return 0
	}
	return coding.Fixed32(r[countOffset:])
}

// SetCount overwrites the header's count. Precondition: len(r) >= HeaderLen.
func (r Repr) SetCount(n uint32) { coding.PutFixed32(r[countOffset:], n) }

// Seq returns the sequence number of the first entry, or 0 for a Repr shorter than HeaderLen.
func (r Repr) Seq() keys.SeqNum {
	if len(r) < HeaderLen {
		return 0
	}
	return keys.SeqNum(coding.Fixed64(r[seqOffset:]))
}

// SetSeq overwrites the header's sequence number: the DB calls it when the batch's place in the
// log is known. Precondition: len(r) >= HeaderLen.
func (r Repr) SetSeq(seq keys.SeqNum) { coding.PutFixed64(r[seqOffset:], uint64(seq)) }

// Empty reports whether the batch has no entries.
func (r Repr) Empty() bool { return r.Count() == 0 }

// EncodedPutLen returns how many bytes AppendPut adds for a key and value of these lengths, so a
// caller can size a buffer or enforce a limit before appending.
func EncodedPutLen(keyLen, valueLen int) int {
	return 1 + coding.VarintLen(uint64(keyLen)) + keyLen + coding.VarintLen(uint64(valueLen)) + valueLen
}

// EncodedDeleteLen returns how many bytes AppendDelete adds for a key of this length.
func EncodedDeleteLen(keyLen int) int {
	return 1 + coding.VarintLen(uint64(keyLen)) + keyLen
}
