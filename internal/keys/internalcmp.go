package keys

import (
	"bytes"

	"github.com/stratadb/strata/internal/coding"
)

// InternalComparatorName is the name leveldb gives the order of internal keys.
const InternalComparatorName = "leveldb.InternalKeyComparator"

// InternalComparator orders internal keys: by user key ascending under User, then by trailer
// descending, so that for one user key the newest entry comes first and a lookup key built with
// (seq, KindMax) lands on the newest entry visible at seq.
type InternalComparator struct {
	User     Comparator
	bytewise bool
}

// NewInternalComparator returns the internal-key order built on user.
func NewInternalComparator(user Comparator) *InternalComparator {
	return &InternalComparator{User: user, bytewise: IsBytewise(user)}
}

// Compare orders two internal keys. Keys shorter than a trailer (corrupt input) are compared as
// whole user keys with a zero trailer; nothing panics.
func (c *InternalComparator) Compare(a, b []byte) int {
	var r int
	if c.bytewise {
		r = bytes.Compare(UserKey(a), UserKey(b))
	} else {
		r = c.User.Compare(UserKey(a), UserKey(b))
	}
	if r != 0 {
		return r
	}
	ta, tb := TrailerOf(a), TrailerOf(b)
	switch {
	case ta > tb:
		return -1
	case ta < tb:
		return 1
	}
	return 0
}

// CompareUser compares two user keys with the user comparator.
func (c *InternalComparator) CompareUser(a, b []byte) int {
	if c.bytewise {
		return bytes.Compare(a, b)
	}
	return c.User.Compare(a, b)
}

// Name returns InternalComparatorName.
func (c *InternalComparator) Name() string { return InternalComparatorName }

// Separator shortens the user key of a with the user comparator. When that gives a strictly
// larger, shorter user key, the result carries MaxTrailer so it sorts before every real entry of
// that user key; otherwise a is appended unchanged.
func (c *InternalComparator) Separator(dst, a, b []byte) []byte {
	ua, ub := UserKey(a), UserKey(b)
	start := len(dst)
	dst = c.User.Separator(dst, ua, ub)
	if s := dst[start:]; len(s) < len(ua) && c.CompareUser(ua, s) < 0 {
		return coding.AppendFixed64(dst, MaxTrailer)
	}
	return append(dst[:start], a...)
}

// Successor shortens the user key of a in the same way as Separator.
func (c *InternalComparator) Successor(dst, a []byte) []byte {
	ua := UserKey(a)
	start := len(dst)
	dst = c.User.Successor(dst, ua)
	if s := dst[start:]; len(s) < len(ua) && c.CompareUser(ua, s) < 0 {
		return coding.AppendFixed64(dst, MaxTrailer)
	}
	return append(dst[:start], a...)
}
