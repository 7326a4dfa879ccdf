// Package iterator defines the internal iterator that every ordered source of entries speaks
// (memtables, table blocks, whole tables, levels) and the combinators built on it: NewMerging
// (merging.go), a heap over several sources, and Visible (visible.go), which turns a stream of
// internal keys into what a reader at a sequence number sees. Test helpers that implement and
// check the contract live in internal/testutil/iterutil.
//
// Contract of an Iterator:
//  1. Positioning methods (First, Last, SeekGE, SeekLT, Next, Prev) return Valid().
//  2. Key and Value may be called only while Valid; the slices they return stay valid until the
//     next positioning call or Close, and must not be modified.
//  3. Next and Prev require Valid. Moving past either end makes the iterator invalid; a
//     positioning call revives it.
//  4. An iterator that hits an error becomes invalid and Error returns the error until the next
//     positioning call resets it. Invalid with a nil Error means a real end.
//  5. Close releases resources (cached blocks, table references) and returns the first error
//     seen, if any: the error Error would return at that moment, else the first error met while
//     releasing (a combinator's children included). After Close no other method may be called.
//  6. An Iterator is used by one goroutine at a time.
package iterator

// Iterator is an ordered cursor over key/value entries. See the package documentation.
type Iterator interface {
	First() bool
	Last() bool
	SeekGE(key []byte) bool
	SeekLT(key []byte) bool
	Next() bool
	Prev() bool
	Valid() bool
	Key() []byte
	Value() []byte
	Error() error
	Close() error
}
