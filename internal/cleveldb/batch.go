//go:build cleveldb

package cleveldb

import "encoding/binary"

// Batch collects puts and deletes for (*DB).Write, which applies them atomically as one
// leveldb::WriteBatch. The zero value is an empty batch. The ops are encoded in Go memory as
// leveldb's WriteBatch records (tag 1 put: varint32 key length, key, varint32 value length,
// value; tag 0 delete: varint32 key length, key) and sent to C++ in a single call.
type Batch struct {
	rep []byte
	n   int
}

// Put appends a put of key with value.
func (b *Batch) Put(key, value []byte) {
	b.rep = append(b.rep, 1)
	b.rep = appendSlice(b.rep, key)
	b.rep = appendSlice(b.rep, value)
	b.n++
}

// Delete appends a deletion of key.
func (b *Batch) Delete(key []byte) {
	b.rep = append(b.rep, 0)
	b.rep = appendSlice(b.rep, key)
	b.n++
}

// Len returns the number of ops in the batch.
func (b *Batch) Len() int { return b.n }

// Reset empties the batch, keeping its buffer.
func (b *Batch) Reset() {
	b.rep = b.rep[:0]
	b.n = 0
}

// appendSlice appends s prefixed by its length as a varint32, the framing glue.cc decodes.
func appendSlice(dst, s []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}
