package main

import (
	"fmt"
	"strconv"
	"sync/atomic"
)

// state is what dbstress knows of one key, in one word so that it is loaded and stored
// atomically:
//
//	bits 63..3  version: the number of writes (puts and deletes) of the key so far
//	bit  2      exists: the last write was a put (of that version), not a delete
//	bit  1      pendingExists: the write in flight is a put
//	bit  0      pending: a write of version+1 is in flight (begun, not yet acknowledged)
//
// Version 0 without exists is a key never written.
type state uint64

const (
	pendingBit       state = 1
	pendingExistsBit state = 2
	existsBit        state = 4
	versionShift           = 3
)

func makeState(version uint64, exists bool) state {
	s := state(version << versionShift)
	if exists {
		s |= existsBit
	}
	return s
}

func (s state) version() uint64     { return uint64(s >> versionShift) }
func (s state) exists() bool        { return s&existsBit != 0 }
func (s state) pending() bool       { return s&pendingBit != 0 }
func (s state) pendingExists() bool { return s&pendingExistsBit != 0 }
func (s state) settled() state      { return s &^ (pendingBit | pendingExistsBit) }
func (s state) withPending(put bool) state {
	s = s.settled() | pendingBit
	if put {
		s |= pendingExistsBit
	}
	return s
}

// applied returns the state once the write in flight is done.
func (s state) applied() state { return makeState(s.version()+1, s.pendingExists()) }

// String describes s for a message: "version 7 (a put)", "absent (deleted by version 7)".
func (s state) String() string {
	var d string
	switch {
	case s.exists():
		d = "version " + strconv.FormatUint(s.version(), 10)
	case s.version() == 0:
		d = "absent (never written)"
	default:
		d = "absent (deleted by version " + strconv.FormatUint(s.version(), 10) + ")"
	}
	if s.pending() {
		d += " or, written when the kill came, " + s.applied().String()
	}
	return d
}

// found is what a read found under a key: present (with the version its value names) or not.
type found struct {
	present bool
	version uint64
	value   []byte // for messages; may be cut
}

// allowed reports whether a read that happened between two loads of a key's state, s0 before
// and s1 after, may find f. The key's writes that can be visible to the read are version
// s0.version (visible before s0 was loaded: the owner stores a state only after the write
// returned) up to s1.version, or s1.version+1 when s1 has a write in flight (the owner marks a
// write pending before it begins). A put's version is found only when that version was a put;
// absence only when one of the versions in the window was a delete (the versions strictly
// between s0's and s1's, not known here, might be).
//
// With s0 == s1 (the key's owner reading, or the checks after a kill), this is exact: the
// settled state, or the pending write.
func allowed(s0, s1 state, f found) bool {
	lo, hi := s0.version(), s1.version()
	if !f.present {
		return !s0.exists() || s0.pending() && !s0.pendingExists() ||
			!s1.exists() || s1.pending() && !s1.pendingExists() || hi >= lo+2
	}
	v := f.version
	switch {
	case v < lo || v > hi+1:
		return false
	case v == hi+1:
		return s1.pending() && s1.pendingExists()
	case v == lo && !s0.exists():
		return false // version lo was a delete
	case v == hi && !s1.exists():
		return false
	case v == lo+1 && lo < hi && s0.pending():
		return s0.pendingExists()
	}
	return true
}

// describeWindow says which states a read between s0 and s1 may find.
func describeWindow(s0, s1 state) string {
	if s0 == s1 {
		return s0.String()
	}
	return s0.String() + ", or a later state up to " + s1.String()
}

// describeFound says what a read found.
func describeFound(f found) string {
	if !f.present {
		return "absent"
	}
	return fmt.Sprintf("version %d %s", f.version, quoteValue(f.value))
}

// expected is the expected state of every key: the key space's model. A key is written only by
// the thread that owns it (key i by thread i % threads), which marks its write pending before
// it begins and stores the new state after it returns; any thread may read any state.
type expected struct {
	keys []atomic.Uint64
}

func newExpected(n int) *expected { return &expected{keys: make([]atomic.Uint64, n)} }

func (e *expected) len() int           { return len(e.keys) }
func (e *expected) get(i int) state    { return state(e.keys[i].Load()) }
func (e *expected) set(i int, s state) { e.keys[i].Store(uint64(s)) }
func (e *expected) loadRange(dst []state, lo int) {
	for j := range dst {
		dst[j] = e.get(lo + j)
	}
}

// expectedValue describes what key i must hold in state s, with its value, for a message.
func expectedValue(i int, s state, valueSize int) string {
	if !s.exists() || s.pending() {
		return s.String()
	}
	return s.String() + " " + quoteValue(makeValue(i, s.version(), valueSize))
}
