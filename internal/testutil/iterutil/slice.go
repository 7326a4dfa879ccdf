// Package iterutil holds test helpers for implementations and users of iterator.Iterator: Slice,
// an iterator over a sorted slice that enforces the contract and can fail on demand, and
// CheckAgainstModel, which drives any iterator through random positioning calls and compares
// every step with a sorted model.
//
// Slice is strict on purpose, so that the combinators tested over it are held to the contract:
// it panics when Key, Value, Next or Prev is called on an invalid iterator or when anything is
// called after Close, and it overwrites the bytes of the previous Key and Value at every
// positioning call, so a caller that keeps them past the next move sees garbage.
//
// Nothing here is safe for concurrent use; each helper belongs to one test goroutine.
package iterutil

import "fmt"

// Entry is one key/value pair of a Slice or a Model.
type Entry struct {
	Key, Value []byte
}

// scribble is the byte Slice writes over keys and values it has handed out.
const scribble = 0xa5

// Slice is an iterator.Iterator over entries sorted by cmp. See the package documentation.
type Slice struct {
	cmp     func(a, b []byte) int
	entries []Entry
	pos     int // index of the current entry; meaningful only while valid
	valid   bool
	err     error
	closed  bool

	failAt  int // index whose positioning fails, or -1
	failErr error

	key, value []byte    // copies of the current entry, handed out by Key and Value
	spare      [2][]byte // the buffers of the previous entry, scribbled over
}

// NewSlice returns an unpositioned iterator over entries, which must be sorted by cmp (equal
// keys are allowed; they come back in slice order). The slice is not copied.
func NewSlice(cmp func(a, b []byte) int, entries []Entry) *Slice {
	for i := 1; i < len(entries); i++ {
		if cmp(entries[i-1].Key, entries[i].Key) > 0 {
			panic(fmt.Sprintf("iterutil: entries %d and %d out of order: %q > %q", i-1, i, entries[i-1].Key, entries[i].Key))
		}
	}
	return &Slice{cmp: cmp, entries: entries, failAt: -1}
}

// FailAt makes every positioning call that would land on entry pos fail with err instead: the
// iterator becomes invalid and Error returns err, as a table iterator does when it meets a bad
// block. Close then returns err as well, if the failure is the iterator's current state.
// It returns s.
func (s *Slice) FailAt(pos int, err error) *Slice {
	s.failAt, s.failErr = pos, err
	return s
}

func (s *Slice) check(what string) {
	if s.closed {
		panic("iterutil: " + what + " after Close")
	}
}

func (s *Slice) mustBeValid(what string) {
	s.check(what)
	if !s.valid {
		panic("iterutil: " + what + " on an invalid iterator")
	}
}

// land moves to entry i (out of range = past an end) and returns Valid.
func (s *Slice) land(i int) bool {
	// Scribble over what the last Key and Value returned, and copy the new entry into the other
	// pair of buffers, so that a stale slice reads 0xa5 bytes rather than the new entry.
	for j := range s.key {
		s.key[j] = scribble
	}
	for j := range s.value {
		s.value[j] = scribble
	}
	s.key, s.value, s.spare[0], s.spare[1] = s.spare[0][:0], s.spare[1][:0], s.key, s.value
	s.err = nil
	s.valid = false
	switch {
	case i < 0 || i >= len(s.entries):
		return false
	case i == s.failAt:
		s.err = s.failErr
		return false
	}
	s.pos, s.valid = i, true
	s.key = append(s.key, s.entries[i].Key...)
	s.value = append(s.value, s.entries[i].Value...)
	return true
}

// lowerBound returns the index of the first entry with key >= k (strictly > k if strict).
func (s *Slice) lowerBound(k []byte, strict bool) int {
	lo, hi := 0, len(s.entries)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		c := s.cmp(s.entries[mid].Key, k)
		if c < 0 || strict && c == 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// First moves to the first entry.
func (s *Slice) First() bool { s.check("First"); return s.land(0) }

// Last moves to the last entry.
func (s *Slice) Last() bool { s.check("Last"); return s.land(len(s.entries) - 1) }

// SeekGE moves to the first entry with a key >= key.
func (s *Slice) SeekGE(key []byte) bool {
	s.check("SeekGE")
	return s.land(s.lowerBound(key, false))
}

// SeekLT moves to the last entry with a key < key.
func (s *Slice) SeekLT(key []byte) bool {
	s.check("SeekLT")
	return s.land(s.lowerBound(key, false) - 1)
}

// Next moves to the following entry. It panics unless Valid.
func (s *Slice) Next() bool { s.mustBeValid("Next"); return s.land(s.pos + 1) }

// Prev moves to the preceding entry. It panics unless Valid.
func (s *Slice) Prev() bool { s.mustBeValid("Prev"); return s.land(s.pos - 1) }

// Valid reports whether the iterator is on an entry.
func (s *Slice) Valid() bool { s.check("Valid"); return s.valid }

// Key returns a copy of the current key, overwritten at the next positioning call.
func (s *Slice) Key() []byte { s.mustBeValid("Key"); return s.key }

// Value returns a copy of the current value, overwritten at the next positioning call.
func (s *Slice) Value() []byte { s.mustBeValid("Value"); return s.value }

// Error returns the injected error if the last positioning call hit it.
func (s *Slice) Error() error { s.check("Error"); return s.err }

// Close marks the iterator closed and returns its current error.
func (s *Slice) Close() error {
	s.check("Close")
	s.closed = true
	return s.err
}

// Closed reports whether Close has been called, so tests can check that a combinator closes
// its children.
func (s *Slice) Closed() bool { return s.closed }
