// Package testcmp holds user-key comparators for tests that need an order other than
// keys.Bytewise, or bytewise order under a name other than leveldb's. Both satisfy
// keys.Comparator; the package does not import keys, so that keys' own tests can use it.
//
// Their Separator and Successor are trivial (they append a), which every comparator may do:
// shortening is an optimization. The comparators hold no state and are safe for concurrent use.
package testcmp

import "bytes"

// Reverse orders keys backward bytewise. Its name is "test.Reverse".
type Reverse struct{}

// Compare returns bytes.Compare(b, a).
func (Reverse) Compare(a, b []byte) int { return bytes.Compare(b, a) }

// Name returns "test.Reverse".
func (Reverse) Name() string { return "test.Reverse" }

// Separator appends a to dst.
func (Reverse) Separator(dst, a, _ []byte) []byte { return append(dst, a...) }

// Successor appends a to dst.
func (Reverse) Successor(dst, a []byte) []byte { return append(dst, a...) }

// Other orders keys bytewise under the name "test.Other", to check that a comparator's name,
// not only its order, must match.
type Other struct{}

// Compare returns bytes.Compare(a, b).
func (Other) Compare(a, b []byte) int { return bytes.Compare(a, b) }

// Name returns "test.Other".
func (Other) Name() string { return "test.Other" }

// Separator appends a to dst.
func (Other) Separator(dst, a, _ []byte) []byte { return append(dst, a...) }

// Successor appends a to dst.
func (Other) Successor(dst, a []byte) []byte { return append(dst, a...) }
