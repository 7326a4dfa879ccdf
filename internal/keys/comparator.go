package keys

import "bytes"

// Comparator orders user keys. Implementations must be safe for concurrent use and must never
// change the order they define: the order is baked into every file the DB writes, and the Name is
// stored in the MANIFEST so that a DB is never opened with a different order.
type Comparator interface {
	// Compare returns a negative number, zero or a positive number as a sorts before, equal to or
	// after b.
	Compare(a, b []byte) int
	// Name identifies the order. It is written to the MANIFEST and checked on every open.
	Name() string
	// Separator appends to dst a key k with a <= k < b, as short as the implementation can make
	// it, and returns the extended slice. It is used for index block keys, so a shorter k makes a
	// smaller index. Appending a itself is always a correct answer. Precondition: a < b.
	Separator(dst, a, b []byte) []byte
	// Successor appends to dst a key k >= a, as short as the implementation can make it, and
	// returns the extended slice. Appending a itself is always a correct answer.
	Successor(dst, a []byte) []byte
}

// BytewiseName is the name leveldb gives its default comparator; part of the on-disk format.
const BytewiseName = "leveldb.BytewiseComparator"

// Bytewise orders keys by unsigned byte-wise comparison, shorter first on a common prefix. It is
// the default and the only comparator C++ leveldb ships.
var Bytewise Comparator = bytewise{}

type bytewise struct{}

func (bytewise) Compare(a, b []byte) int { return bytes.Compare(a, b) }

func (bytewise) Name() string { return BytewiseName }

// Separator finds the first byte where a and b differ; if a's byte there can be incremented and
// stay below b's, the result is a's prefix up to that byte, incremented. leveldb computes the same
// key, so index blocks come out byte for byte the same.
func (bytewise) Separator(dst, a, b []byte) []byte {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	if i < n {
		if c := a[i]; c < 0xff && c+1 < b[i] {
			dst = append(dst, a[:i+1]...)
			dst[len(dst)-1]++
			return dst
		}
	}
	// One key is a prefix of the other, or the differing bytes are adjacent: a is the answer.
	return append(dst, a...)
}

// Successor increments the first byte of a that is not 0xff and drops the rest; a key of only
// 0xff bytes has no shorter successor and is returned whole.
func (bytewise) Successor(dst, a []byte) []byte {
	for i, c := range a {
		if c != 0xff {
			dst = append(dst, a[:i+1]...)
			dst[len(dst)-1]++
			return dst
		}
	}
	return append(dst, a...)
}

// IsBytewise reports whether c is the built-in bytewise comparator, so hot paths can call
// bytes.Compare directly instead of going through the interface.
func IsBytewise(c Comparator) bool {
	_, ok := c.(bytewise)
	return ok
}
