package memtable

import (
	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/skiplist"
)

// Iterator walks every entry of a MemTable in internal-key order, all versions and deletions
// included. Keys are encoded internal keys (user key, then the 8-byte trailer) aliasing the
// arena. Positioning methods return Valid. An Iterator belongs to one goroutine.
type Iterator struct {
	it skiplist.Iterator
}

// NewIterator returns an unpositioned iterator over m.
func (m *MemTable) NewIterator() *Iterator {
	return &Iterator{it: m.list.NewIterator()}
}

// Valid reports whether the iterator is on an entry.
func (i *Iterator) Valid() bool { return i.it.Valid() }

// Key returns the current internal key. Precondition: Valid.
func (i *Iterator) Key() []byte { return i.it.KeyWithTag() }

// Value returns the current value (empty for a deletion). Precondition: Valid.
func (i *Iterator) Value() []byte { return i.it.Value() }

// First moves to the first entry.
func (i *Iterator) First() bool { return i.it.First() }

// Last moves to the last entry.
func (i *Iterator) Last() bool { return i.it.Last() }

// Next moves to the following entry. Precondition: Valid.
func (i *Iterator) Next() bool { return i.it.Next() }

// Prev moves to the preceding entry. Precondition: Valid.
func (i *Iterator) Prev() bool { return i.it.Prev() }

// SeekGE moves to the first entry at or after the internal key ikey.
func (i *Iterator) SeekGE(ikey []byte) bool {
	return i.it.SeekGE(keys.UserKey(ikey), keys.TrailerOf(ikey))
}

// SeekLT moves to the last entry before the internal key ikey.
func (i *Iterator) SeekLT(ikey []byte) bool {
	return i.it.SeekLT(keys.UserKey(ikey), keys.TrailerOf(ikey))
}

// Error returns nil: an in-memory table cannot fail to read.
func (i *Iterator) Error() error { return nil }

// Close releases the iterator. It returns nil.
func (i *Iterator) Close() error {
	i.it = skiplist.Iterator{}
	return nil
}
