package iterator

import (
	"bytes"
	"fmt"

	"github.com/stratadb/strata/internal/dberr"
	"github.com/stratadb/strata/internal/keys"
)

// Visible is the user's view of a stream of internal keys, leveldb's DBIter: it presents each
// user key once, with the value of its newest entry at or below a sequence number (a snapshot),
// and hides the user keys whose newest such entry is a deletion. Keys passed to and returned by
// Visible are user keys; it implements the Iterator contract over them.
//
// Bounds: only user keys in [lower, upper) are presented, in every direction and after every
// seek; a nil bound is no bound. First is SeekGE(lower) and Last is SeekLT(upper) when they are
// set; SeekGE below lower starts at lower, SeekLT above upper starts at upper.
//
// How it moves (the invariant behind Key and Value):
//
//   - Forward (after First, SeekGE or Next): the internal iterator is on the entry being
//     presented, and Key and Value alias it. Next copies the current user key into saved and
//     skips every entry of a user key <= saved, then every invisible entry, and every user key
//     whose newest visible entry is a deletion.
//   - Reverse (after Last, SeekLT or Prev): the internal iterator is on the last entry before
//     every entry of the presented user key (or past the start), because finding a user key's
//     newest visible entry backward means reading all of its entries, oldest first. Key and Value
//     are copies kept in saved and value.
//
// Changing direction costs a walk over the entries of the current user key. A step allocates
// nothing once the buffers have grown to the longest key and value seen.
//
// Errors: an error from the internal iterator, or an internal key that does not parse (shorter
// than its trailer or of an unknown kind), makes Visible invalid with an error; the latter wraps
// dberr.ErrCorruption. Close closes the internal iterator.
//
// A Visible belongs to one goroutine at a time, like every Iterator.
type Visible struct {
	it       Iterator
	ucmp     keys.Comparator
	bytewise bool
	seq      keys.SeqNum
	lower    []byte
	upper    []byte

	valid   bool
	reverse bool
	err     error

	saved   []byte // reverse: the current user key; forward: the user key being skipped
	value   []byte // reverse: the current value
	seekKey []byte // the internal key built for the last seek
}

// maxRetainedValue is how much more than the current value the value buffer may keep: a huge
// value read once is not held for the iterator's life (1 MiB, as leveldb's DBIter).
const maxRetainedValue = 1 << 20

// NewVisible returns an unpositioned Visible over internal, an iterator of internal keys in
// keys.InternalComparator order under ucmp, presenting what a reader at sequence number seq sees
// within [lower, upper). Visible takes ownership of internal (Close closes it) and keeps lower
// and upper, which must not change while it is in use. seq above keys.MaxSeqNum means
// keys.MaxSeqNum.
func NewVisible(internal Iterator, ucmp keys.Comparator, seq keys.SeqNum, lower, upper []byte) *Visible {
	return &Visible{
		it:       internal,
		ucmp:     ucmp,
		bytewise: keys.IsBytewise(ucmp),
		seq:      min(seq, keys.MaxSeqNum),
		lower:    lower,
		upper:    upper,
	}
}

func (v *Visible) cmp(a, b []byte) int {
	if v.bytewise {
		return bytes.Compare(a, b)
	}
	return v.ucmp.Compare(a, b)
}

// start begins a positioning call: the error is cleared (contract 4).
func (v *Visible) start(reverse bool) {
	v.err = nil
	v.valid = false
	v.reverse = reverse
}

// First moves to the first visible user key (at or after lower).
func (v *Visible) First() bool {
	if v.lower != nil {
		return v.SeekGE(v.lower)
	}
	v.start(false)
	v.it.First()
	return v.findNext(false)
}

// Last moves to the last visible user key (before upper).
func (v *Visible) Last() bool {
	if v.upper != nil {
		return v.SeekLT(v.upper)
	}
	v.start(true)
	v.it.Last()
	return v.findPrev()
}

// SeekGE moves to the first visible user key >= key (and >= lower).
func (v *Visible) SeekGE(key []byte) bool {
	v.start(false)
	if v.lower != nil && v.cmp(key, v.lower) < 0 {
		key = v.lower
	}
	if v.upper != nil && v.cmp(key, v.upper) >= 0 {
		return false
	}
	// key#seq,KindMax sorts after the entries of key newer than seq and before the rest.
	v.seekKey = keys.AppendInternalKey(v.seekKey[:0], key, v.seq, keys.KindMax)
	v.it.SeekGE(v.seekKey)
	return v.findNext(false)
}

// Seek is SeekGE, under the name the DB's public iterator uses.
func (v *Visible) Seek(key []byte) bool { return v.SeekGE(key) }

// SeekLT moves to the last visible user key < key (and < upper).
func (v *Visible) SeekLT(key []byte) bool {
	v.start(true)
	if v.upper != nil && v.cmp(key, v.upper) > 0 {
		key = v.upper
	}
	if v.lower != nil && v.cmp(key, v.lower) <= 0 {
		return false
	}
	// key#MaxSeqNum,KindMax sorts before every entry of key.
	v.seekKey = keys.AppendInternalKey(v.seekKey[:0], key, keys.MaxSeqNum, keys.KindMax)
	v.it.SeekLT(v.seekKey)
	return v.findPrev()
}

// Next moves to the next visible user key. Precondition: Valid.
func (v *Visible) Next() bool {
	if !v.valid {
		return false
	}
	if v.reverse {
		// The internal iterator is before the current key's entries, or past the start; saved
		// holds the current key, which findNext skips.
		v.reverse = false
		if v.it.Valid() {
			v.it.Next()
		} else {
			v.it.First()
		}
	} else {
		v.saved = append(v.saved[:0], keys.UserKey(v.it.Key())...)
		v.it.Next()
	}
	return v.findNext(true)
}

// Prev moves to the previous visible user key. Precondition: Valid.
func (v *Visible) Prev() bool {
	if !v.valid {
		return false
	}
	if !v.reverse {
		// Step back over the entries of the current user key that precede the current entry
		// (newer ones, invisible at seq) to the last entry of an earlier user key.
		v.reverse = true
		v.saved = append(v.saved[:0], keys.UserKey(v.it.Key())...)
		for {
			if !v.it.Prev() {
				return v.stop()
			}
			pk, ok := keys.Parse(v.it.Key())
			if !ok {
				return v.corrupt(v.it.Key())
			}
			if v.cmp(pk.UserKey, v.saved) < 0 {
				break
			}
		}
	}
	return v.findPrev()
}

// findNext moves the internal iterator forward from where it is to the newest visible entry of
// the next user key that has a value: skipping entries of user keys <= saved when skipping,
// entries newer than seq, and user keys whose newest visible entry is a deletion. It stops at
// upper.
func (v *Visible) findNext(skipping bool) bool {
	for v.it.Valid() {
		ikey := v.it.Key()
		pk, ok := keys.Parse(ikey)
		if !ok {
			return v.corrupt(ikey)
		}
		// saved < upper whenever skipping, so a skipped key needs no bound check.
		if !skipping || v.cmp(pk.UserKey, v.saved) > 0 {
			if v.upper != nil && v.cmp(pk.UserKey, v.upper) >= 0 {
				v.valid = false
				return false
			}
			if pk.Seq <= v.seq {
				if pk.Kind != keys.KindDelete {
					v.valid = true
					return true
				}
				v.saved = append(v.saved[:0], pk.UserKey...)
				skipping = true
			}
		}
		v.it.Next()
	}
	return v.stop()
}

// findPrev moves the internal iterator backward from where it is, reading every entry of the
// previous user key, and presents that key if its newest visible entry is a value (kept in
// saved and value); otherwise it carries on to earlier user keys. It stops at lower.
func (v *Visible) findPrev() bool {
	have := false // saved and value hold the newest visible value seen so far of saved
	for v.it.Valid() {
		ikey := v.it.Key()
		pk, ok := keys.Parse(ikey)
		if !ok {
			return v.corrupt(ikey)
		}
		if have {
			// saved >= lower, so an entry of saved needs no bound check.
			if v.cmp(pk.UserKey, v.saved) < 0 {
				break // every entry of saved has been read
			}
		} else if v.lower != nil && v.cmp(pk.UserKey, v.lower) < 0 {
			v.valid = false
			return false
		}
		if pk.Seq <= v.seq {
			if pk.Kind == keys.KindDelete {
				have = false
			} else {
				v.saved = append(v.saved[:0], pk.UserKey...)
				val := v.it.Value()
				if cap(v.value) > len(val)+maxRetainedValue {
					v.value = nil
				}
				v.value = append(v.value[:0], val...)
				have = true
			}
		}
		v.it.Prev()
	}
	if err := v.it.Error(); err != nil {
		// An unread newer entry may hide what was saved.
		return v.fail(err)
	}
	v.valid = have
	return have
}

// stop ends a move that ran out of internal entries: a real end, or the internal error.
func (v *Visible) stop() bool {
	if err := v.it.Error(); err != nil {
		return v.fail(err)
	}
	v.valid = false
	return false
}

func (v *Visible) fail(err error) bool {
	v.err = err
	v.valid = false
	return false
}

func (v *Visible) corrupt(ikey []byte) bool {
	return v.fail(fmt.Errorf("%w: iterator: malformed internal key %s", dberr.ErrCorruption, keys.FormatInternalKey(ikey)))
}

// Valid reports whether the iterator is on a user key.
func (v *Visible) Valid() bool { return v.valid }

// Key returns the current user key. Precondition: Valid. The slice is valid until the next
// positioning call.
func (v *Visible) Key() []byte {
	if v.reverse {
		return v.saved[:len(v.saved):len(v.saved)]
	}
	return keys.UserKey(v.it.Key())
}

// Value returns the current value. Precondition: Valid. The slice is valid until the next
// positioning call.
func (v *Visible) Value() []byte {
	if v.reverse {
		return v.value
	}
	return v.it.Value()
}

// Error returns the error that made the iterator invalid, if any.
func (v *Visible) Error() error { return v.err }

// Close closes the internal iterator and returns the iterator's error, else the internal
// iterator's.
func (v *Visible) Close() error {
	err := v.err
	if cerr := v.it.Close(); err == nil {
		err = cerr
	}
	v.it = nil
	v.saved, v.value, v.seekKey = nil, nil, nil
	return err
}
